"""Funding matching and self-assessment scoring on the shipped knowledge base."""

import pytest

from bot.advisor.assessment import score
from bot.config import REPO_ROOT
from bot.knowledge.catalog import Catalog


@pytest.fixture(scope="module")
def catalog():
    return Catalog(REPO_ROOT / "knowledge")


def test_match_keeps_own_country_and_eu_and_respects_size(catalog):
    found = catalog.match_schemes("DK", sector="packaging", size="small", purpose="design")
    assert found
    assert all("DK" in s.countries or s.eu_wide for s in found)
    assert all("small" in s.company_sizes for s in found)
    assert not found[0].eu_wide  # national schemes first


def test_large_companies_do_not_get_sme_only_schemes(catalog):
    found = catalog.match_schemes("BE", size="large", limit=50)
    assert all("large" in s.company_sizes for s in found)


def test_all_zero_answers_make_every_area_weak(catalog):
    result = score(catalog.assessment, {}, catalog, country="FR", size="small")
    assert result.overall_percent == 0 and result.level == catalog.assessment.levels[0].id
    assert all(a.weak for a in result.areas)
    assert set(result.recommended_modules) <= set(catalog.modules)
    assert result.recommended_schemes


def test_best_answers_reach_the_top_level_with_nothing_to_fix(catalog):
    best = {q.id: max(range(len(q.options)), key=lambda i: q.options[i].score) for q in catalog.assessment.questions}
    result = score(catalog.assessment, best, catalog)
    assert result.overall_percent == 100
    assert result.level == max(catalog.assessment.levels, key=lambda lv: lv.min_percent).id
    assert result.recommended_modules == [] and "none" in result.summary()


@pytest.mark.parametrize(
    ("message", "named"),
    [
        # the translated name inside the asker's own words
        ("Possiamo ancora chiedere il credito d'imposta Transizione 5.0?", {"it-transizione-5-0"}),
        # an abbreviation only that scheme's texts use
        ("Czy program GOZ w MŚP ma jeszcze nabór?", {"pl-parp-goz-msp-eastern-poland"}),
        # the original name with its hyphen left out
        ("Is the KfW Umweltprogramm a loan or a grant?", {"de-kfw-umweltprogramm"}),
        ("How much does the KMO portefeuille pay?", {"be-vlaio-kmo-portefeuille"}),
        # the capitalised words of a name with its number, the rest said otherwise or not at all
        ("Vale ancora la Transizione 5.0 per una pressa nuova?", {"it-transizione-5-0"}),
        # a quoted name, after an elided article
        ("Conviene l'iper-ammortamento per una pressa nuova?", {"it-transizione-5-0"}),
        # a name of ordinary words beside the name of who runs the scheme
        (
            "Nell'incentivo Economia circolare gestito da Invitalia, quanto è il contributo?",
            {"it-invitalia-economia-circolare"},
        ),
        # ...also when who runs it is a name made of ordinary words
        (
            "Can we still apply for the Business Finland circular economy investment grant?",
            {"fi-business-finland-circular-economy-investment-grant"},
        ),
        # common words with a number: together they name one scheme
        (
            "horizon europe cluster 6 - what % do they fund for an innovation action?",
            {"eu-horizon-europe-cluster6-circular-bioeconomy"},
        ),
    ],
)
def test_a_scheme_is_named_by_any_name_it_goes_by(catalog, message, named):
    assert catalog.named_schemes(message) == named


@pytest.mark.parametrize(
    ("message", "why"),
    [
        ("Are there grants for circular economy in SMEs in Poland?", "words every scheme's name uses"),
        ("Business Finland funding for a pilot line?", "the provider two schemes share, not a name"),
        ("We want a business development grant in Finland", "a name's words, not together"),
        ("Is there a circular economy investment grant in Finland?", "a country, not who runs the scheme"),
        ("Une subvention « au titre du de minimis », ça veut dire quoi ?", "a term many schemes' conditions use"),
        ("Que apoios há para a economia circular em Portugal?", "a name's words that are ordinary Portuguese"),
        ("Ci sono incentivi per l'economia circolare in Italia?", "ordinary words without who runs the scheme"),
        ("Un cliente ci chiede uno studio secondo il metodo PEF.", "a term the know-how uses, though one scheme does"),
        ("Mamy 5 mln PLN obrotu, jakie dotacje na recykling?", "a currency, though only one scheme's text writes it"),
        ("Is the loan rate EURIBOR plus a margin?", "a reference rate"),
        ("Which NUTS 2 regions can apply?", "a statistical code"),
        ("We are 6 people and read about Horizon Europe clusters.", "a number beside a name's words, not in it"),
    ],
)
def test_ordinary_words_name_no_scheme(catalog, message, why):
    assert catalog.named_schemes(message) == set(), why


@pytest.mark.parametrize(
    ("message", "country"),
    [
        ("Vinnova: how much money for the first stage?", "SE"),  # who runs the scheme
        ("Welche Projekte hat die DBU zuletzt gefördert?", "DE"),
        ("How much does the KMO-portefeuille pay?", "BE"),  # a scheme named
        ("Is there a green loan from a development agency?", None),  # ordinary words name no one
        ("Vinnova or ADEME: who pays more?", None),  # two countries: none chosen
    ],
)
def test_naming_an_agency_or_a_scheme_names_its_country(catalog, message, country):
    assert catalog.named_country(message) == country


def test_an_abbreviation_that_opens_a_schemes_name_names_it_though_know_how_uses_it(catalog):
    """Modules speak of "LIFE" meaning the programme: the word still names that scheme, while
    "EPR" or "LCA", which know-how uses for concepts, name none."""
    assert catalog.named_schemes("If we try the EU environment programme (LIFE) for a demo plant, how much?") == {
        "eu-life-circular-economy-quality-of-life"
    }
    assert catalog.named_schemes("Does EPR apply to us, and do we need an LCA?") == set()
    assert catalog.named_schemes("a life-cycle assessment of our chairs") == set()
