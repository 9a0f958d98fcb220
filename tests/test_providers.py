"""The provider directory (matchmaking, issue #20): its schema refuses personal data, bad files are
reported as file:line, matching filters and says why, the shipped directory is sourced and dated,
and `advisor providers` / `advisor content` print what a user and a maintainer read."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.advisor.triage import Triager
from bot.config import get_settings
from bot.knowledge.loaders import ContentInvalid, load_corpus
from bot.knowledge.providers import load_directory, load_providers, match, take_country
from bot.knowledge.schema import Provider

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"

MEMBER = """providers:
  - id: dk-example-joinery
    organisation: Example Joinery Cooperative
    country: DK
    city: Aarhus
    offers: [by-product-exchange, repair]
    sectors: [furniture]
    materials: [wood, sawdust]
    description: Takes clean wood offcuts and sawdust from member companies and repairs office furniture.
    contact: https://example.org/joinery
    consent: member-consent
    source_url: https://example.org/joinery
    last_verified: 2026-11-25
"""


def provider(**fields) -> Provider:
    values = {
        "id": "xx-provider",
        "organisation": "Some Organisation",
        "country": "DK",
        "offers": ["recycling"],
        "description": "A description long enough to pass the minimum length of forty characters.",
        "contact": "https://example.org/",
        "consent": "public-information",
        "source_url": "https://example.org/about",
        "last_verified": "2026-11-25",
    }
    return Provider.model_validate(values | fields)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped directory ---------------------------------------------------------------------------


def test_the_shipped_directory_is_real_public_sourced_and_dated():
    shipped = load_directory(KNOWLEDGE).providers
    assert 12 <= len(shipped) <= 20
    assert len({p.country for p in shipped} - {"EU"}) >= 8 and any(p.country == "EU" for p in shipped)
    assert len({p.id for p in shipped}) == len(shipped)
    for p in shipped:
        assert p.consent == "public-information", p.id  # no cluster member ships with the code
        assert p.source_url.scheme in {"http", "https"} and p.contact.scheme in {"http", "https"}, p.id
        assert dt.date(2026, 1, 1) <= p.last_verified <= dt.date.today(), p.id
    # validated with the rest of the content, but never indexed for answers
    docs = load_corpus([KNOWLEDGE])
    assert not {p.id for p in shipped} & {d.id for d in docs}


# --- schema: public information only ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"contact": "mailto:jane.doe@example.org"}, "contact", "URL scheme should be 'http' or 'https'"),
        ({"contact": "jane.doe@example.org"}, "contact", "URL"),
        ({"contact": "https://jane@example.org/"}, "contact", "without user names or e-mail"),
        ({"description": "Ask Jane (jane.doe@example.org) about the wood offcuts programme."}, "description", "e-mail"),
        (
            {"description": "Call our project lead on +45 12 34 56 78 for wood offcuts and sawdust."},
            "description",
            "phone",
        ),
        ({"email": "info@example.org"}, "email", "Extra inputs are not permitted"),
        ({"offers": ["teleportation"]}, "offers.0", "recycling"),
        ({"country": "UK"}, "country", "unknown country code"),
        ({"consent": "scraped"}, "consent", "public-information"),
    ],
)
def test_a_listing_refuses_personal_data_and_unknown_vocabulary(fields, field, says):
    with pytest.raises(ValueError) as info:
        provider(**fields)
    errors = {".".join(map(str, e["loc"])): e["msg"] for e in info.value.errors()}
    assert field in errors and says in errors[field]


def test_amounts_and_year_ranges_are_not_taken_for_phone_numbers():
    p = provider(description="Ran from 2016-2021 with a budget of DKK 1 500 000 for 120 companies in the region.")
    assert p.description.startswith("Ran from")


def test_a_bad_file_is_reported_as_file_line_and_field(tmp_path):
    bad = write(
        tmp_path / "providers" / "members.yaml",
        MEMBER.replace("offers: [by-product-exchange, repair]", "offers: [by-product-exchange, teleport]"),
    )
    with pytest.raises(ContentInvalid) as info:
        load_providers([tmp_path / "providers"])
    (error,) = info.value.errors
    assert str(error).startswith(f"{bad}:6 [providers.0.offers.1]: Input should be")
    # the same file under a knowledge folder stops ingestion and the linter the same way
    with pytest.raises(ContentInvalid) as info:
        load_corpus([tmp_path])
    assert [(e.line, e.field) for e in info.value.errors] == [(6, "providers.0.offers.1")]


def test_ids_are_unique_across_the_shipped_and_the_clusters_folders(tmp_path):
    write(tmp_path / "kb" / "providers" / "a.yaml", MEMBER)
    second = write(tmp_path / "cluster" / "b.yaml", "# our members\n" + MEMBER)
    with pytest.raises(ContentInvalid) as info:
        load_directory(tmp_path / "kb", tmp_path / "cluster")
    (error,) = info.value.errors
    assert error.path == str(second) and error.line == 3 and "duplicate id 'dk-example-joinery'" in error.message


def test_broken_yaml_and_missing_fields_name_their_line(tmp_path):
    write(tmp_path / "p" / "broken.yaml", "providers:\n  - id: [unclosed\n")
    write(tmp_path / "p" / "short.yaml", "providers:\n  - id: xx-short\n    organisation: Short\n")
    with pytest.raises(ContentInvalid) as info:
        load_providers([tmp_path / "p"])
    lines = [str(e) for e in info.value.errors]
    assert any(line.startswith(f"{tmp_path / 'p' / 'broken.yaml'}:") and "not valid YAML" in line for line in lines)
    assert f"{tmp_path / 'p' / 'short.yaml'}:2 [providers.0.offers]: Field required" in lines


# --- matching ----------------------------------------------------------------------------------------

DIRECTORY = [
    provider(
        id="dk-symbiosis",
        organisation="Symbiosis Centre",
        country="DK",
        region="Region Zealand",
        offers=["industrial-symbiosis-facilitation"],
        materials=["by-products"],
    ),
    Provider.model_validate(__import__("yaml").safe_load(MEMBER)["providers"][0]),
    provider(id="eu-repair-network", organisation="Repair Network", country="EU", offers=["repair", "reuse"]),
    provider(
        id="fr-textiles",
        organisation="Textile Producer Responsibility",
        country="FR",
        offers=["epr-compliance", "recycling"],
        sectors=["textiles"],
        materials=["textiles", "footwear"],
        description="Handles the end of life of clothing and footwear that brands put on the French market.",
    ),
]


def ids(found) -> list[str]:
    return [m.provider.id for m in found]


def test_words_find_what_they_offer_where_they_are_and_what_they_handle():
    (first, second) = match(DIRECTORY, "who can take our wood offcuts near Aarhus?")
    assert first.provider.id == "dk-example-joinery"
    assert first.offers == ["by-product-exchange"] and first.place == "Aarhus" and first.materials == ["wood"]
    assert first.words == []  # "wood" and "Aarhus" are already said as material and place
    assert second.provider.id == "dk-symbiosis" and second.offers == ["industrial-symbiosis-facilitation"]


def test_filters_keep_the_country_with_europe_wide_networks_the_offer_and_the_sector():
    assert ids(match(DIRECTORY, country="FR")) == ["fr-textiles", "eu-repair-network"]  # national first
    found = match(DIRECTORY, country="dk", offer="repair")
    assert ids(found) == ["dk-example-joinery", "eu-repair-network"]
    assert found[0].country == "DK" and found[0].offers == ["repair"]
    assert found[1].country is None and found[1].eu_wide
    # a sector filter drops those that state other sectors and keeps those that state none
    assert ids(match(DIRECTORY, sector="furniture")) == ["dk-example-joinery", "eu-repair-network", "dk-symbiosis"]
    textiles = match(DIRECTORY, "recycling", sector="textiles")
    assert ids(textiles) == ["fr-textiles"] and textiles[0].sectors == ["textiles"]


def test_french_words_and_a_named_country_match_too():
    code, rest = take_country("recyclage des chaussures en France", Triager().countries)
    assert code == "FR" and "France" not in rest
    (found,) = match(DIRECTORY, rest, country=code)
    assert found.provider.id == "fr-textiles" and found.offers == ["recycling"] and found.country == "FR"
    assert (found.materials, found.words) == ([], [])  # descriptions are English: "chaussures" is not matched


def test_words_that_fit_nobody_match_nothing_and_ties_are_stable():
    assert match(DIRECTORY, "quantum teleportation") == []
    assert match(DIRECTORY, "the and of") != []  # only stopwords: the filters alone decide
    assert ids(match(DIRECTORY, "repair", limit=1)) == ids(match(DIRECTORY, "repair", limit=1))


# --- the terminal ------------------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch):
    from bot.cli import app

    def run(*args: str, env: dict[str, str] | None = None):
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})
        finally:
            get_settings.cache_clear()

    return run


def test_advisor_providers_prints_the_matches_with_why_and_page(cli, tmp_path):
    result = cli("providers", "wood offcuts Aarhus", "--country", "DK", env={"ADVISOR_KNOWLEDGE_DIR": str(KNOWLEDGE)})
    assert result.exit_code == 0, result.output
    assert "Organisations that may help (“wood offcuts Aarhus”, DK or Europe-wide):" in result.output
    assert "1. Symbiosis Center Denmark (Symbiosecenter Danmark)" in result.output
    assert "Why: offers Industrial symbiosis; based in DK" in result.output
    assert "https://symbiosecenter.dk/en/project/residue-to-resource/ (checked 25 November 2026)" in result.output

    french = cli("providers", "recyclage textile en France", "--lang", "fr")
    assert french.exit_code == 0, french.output
    assert "1. Refashion" in french.output and "Pourquoi : propose : Recyclage; pays : FR" in french.output

    # a cluster's own folder is searched with the shipped one
    write(tmp_path / "cluster" / "members.yaml", MEMBER)
    member = cli("providers", "wood offcuts Aarhus", env={"ADVISOR_PROVIDERS_DIR": str(tmp_path / "cluster")})
    assert "1. Example Joinery Cooperative" in member.output
    assert "Why: offers By-product and waste exchange; in Aarhus; handles wood" in member.output

    nothing = cli("providers", "quantum teleportation")
    assert nothing.exit_code == 1 and "No organisation in the directory fits" in nothing.output
    assert cli("providers", "repair", "--offer", "teleport").exit_code == 2


def test_content_stats_counts_providers_and_stale_lists_old_ones(cli, tmp_path):
    stats = cli("content", "stats", env={"ADVISOR_KNOWLEDGE_DIR": str(KNOWLEDGE)})
    shipped = len(load_directory(KNOWLEDGE).providers)
    assert re.search(rf"providers \(/providers directory\)\s*\W\s*{shipped}\b", stats.output), stats.output
    assert "providers per country: AT 1," in stats.output
    old = cli("content", "stale", "--today", "2027-12-01")
    assert "dk-symbiosis-center-denmark" in old.output and "provider last verified 2026-11-25" in old.output
    write(
        tmp_path / "cluster" / "bad.yaml", MEMBER.replace("https://example.org/joinery\n    consent", "x\n    consent")
    )
    broken = cli("content", "check", env={"ADVISOR_PROVIDERS_DIR": str(tmp_path / "cluster")})
    assert broken.exit_code == 1 and f"{tmp_path / 'cluster' / 'bad.yaml'}:10 [providers.0.contact]" in broken.output
