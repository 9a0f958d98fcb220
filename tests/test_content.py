"""The shipped knowledge base: valid, sourced, dated, and covering what SMEs ask about."""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.knowledge.loaders import load_corpus, split_front_matter
from bot.knowledge.schema import (
    AmbassadorDirectory,
    FundingFile,
    Instrument,
    SelfAssessment,
    TrainingModule,
    word_count,
)

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
COUNTRIES_REQUIRED = {"FR", "DK", "BE", "FI", "SE", "IT", "ES", "NL", "DE", "GB", "IE", "PT", "PL"}
SECTOR_PRIMERS = {"textiles", "plastics", "construction", "electronics", "food"}


@pytest.fixture(scope="module")
def corpus():
    return load_corpus([KNOWLEDGE])


@pytest.fixture(scope="module")
def schemes():
    out = []
    for path in sorted((KNOWLEDGE / "funding").glob("*.yaml")):
        out += FundingFile.model_validate(yaml.safe_load(path.read_text())).schemes
    return out


@pytest.fixture(scope="module")
def modules():
    out = {}
    for path in sorted((KNOWLEDGE / "modules").glob("*.md")):
        front, body = split_front_matter(path.read_text())
        out[path.stem] = (TrainingModule.model_validate(yaml.safe_load(front)), body)
    return out


def test_everything_ingests_without_schema_errors(corpus):
    kinds = Counter(d.kind for d in corpus)
    assert kinds["module"] >= 15 and kinds["funding"] >= 30


def test_every_funding_record_has_source_url_and_date(schemes):
    # The schema already requires both; this guards against it being loosened.
    for s in schemes:
        assert s.source_url and str(s.source_url).startswith("https://"), s.id
        assert s.last_verified, s.id


def test_every_required_country_has_a_scheme(schemes):
    covered = {c for s in schemes for c in s.countries}
    assert covered >= COUNTRIES_REQUIRED, COUNTRIES_REQUIRED - covered
    assert sum(1 for s in schemes if s.eu_wide) >= 7
    assert {"Flanders", "Scotland", "Basque Country"} <= {r for s in schemes for r in s.regions}


def test_every_instrument_type_appears(schemes):
    assert {i for s in schemes for i in s.instruments} == set(Instrument)


def test_modules_are_practical_and_sourced(modules):
    assert len(modules) >= 15
    for mid, (meta, body) in modules.items():
        assert meta.id == mid, f"{mid}: file name and id differ"
        words = word_count(body)
        assert 600 <= words <= 1500, f"{mid}: {words} words"
        assert re.search(r"^## Steps\s*\n+1\. ", body, re.MULTILINE), f"{mid}: no numbered steps"
        assert re.search(r"^## Checklist\s*\n+- \[ \]", body, re.MULTILINE), f"{mid}: no checklist"
        assert meta.sources and all(s.url for s in meta.sources), mid


def test_sector_primers_exist(modules):
    primers = {m.id for m, _ in modules.values() if m.id.startswith("sector-")}
    for sector in SECTOR_PRIMERS:
        assert any(sector in p for p in primers), sector


def test_self_assessment_links_every_area_to_modules_and_funding(modules, schemes):
    sa = SelfAssessment.model_validate(yaml.safe_load((KNOWLEDGE / "self_assessment.yaml").read_text()))
    assert len(sa.questions) >= 20
    assert {a.id for a in sa.areas} >= {
        "design",
        "materials",
        "production",
        "business-model",
        "use-phase",
        "end-of-life",
        "collaboration",
        "data",
    }
    offered = {i for s in schemes for i in s.instruments}
    for area in sa.areas:
        assert set(area.recommended_modules) <= set(modules), area.id
        assert set(area.recommended_instruments) & offered, area.id


def test_ambassador_example_directory_is_valid():
    directory = AmbassadorDirectory.model_validate(yaml.safe_load((KNOWLEDGE / "ambassadors.example.yaml").read_text()))
    assert directory.ambassadors and any(not a.active for a in directory.ambassadors)


def test_every_item_has_a_summary_in_every_language_we_answer_in(corpus):
    """The composed answer reads these: a missing one would answer a Finn in English."""
    from bot.advisor.language import SUPPORTED
    from bot.knowledge.translations import load_translations

    translations = load_translations(KNOWLEDGE)
    assert set(translations) == set(SUPPORTED) - {"en"}
    items = {doc.id for doc in corpus if doc.kind in ("module", "funding", "case", "glossary")}
    for language, file in translations.items():
        assert not items - set(file.items), f"{language}: no summary for {sorted(items - set(file.items))}"
        assert not set(file.items) - items, f"{language}: unknown ids {sorted(set(file.items) - items)}"
        modules = [i for i in file.items if i in {d.id for d in corpus if d.kind == "module"}]
        assert all(file.items[m].title for m in modules), f"{language}: a module without its translated title"
        cases = [file.items[d.id] for d in corpus if d.kind == "case"]
        assert all(c.organisation and c.what_smes_can_do for c in cases), f"{language}: a case card half in English"


def test_every_scheme_and_module_reads_whole_in_every_language_we_answer_in():
    """Scheme cards and know-how answers quote the translated texts: a scheme or module added in
    English only would answer a Finn with its summary alone, or name the scheme in English."""
    from bot.advisor.language import SUPPORTED
    from bot.knowledge.catalog import Catalog

    catalog = Catalog(KNOWLEDGE)
    for language in set(SUPPORTED) - {"en"}:
        texts = {s.id for s in catalog.schemes if (t := catalog.translated(s.id, language)) and t.description}
        named = {s.id for s in catalog.schemes if (t := catalog.translated(s.id, language)) and t.name and t.provider}
        missing = {s.id for s in catalog.schemes} - (texts & named)
        assert not missing, f"{language}: schemes without their whole text, name or provider: {sorted(missing)}"
        modules = set(catalog.module_translations.get(language, {}))
        untranslated = sorted(set(catalog.modules) - modules)
        assert modules == set(catalog.modules), f"{language}: modules not translated: {untranslated}"


def test_the_content_check_finds_stale_expired_and_broken_items(tmp_path, corpus):
    """`advisor content check` and the lint: what a maintainer must re-verify or fix."""
    import datetime as dt

    from bot.knowledge.audit import broken_links, counts, expired, stale
    from bot.knowledge.catalog import Catalog

    catalog = Catalog(KNOWLEDGE)
    today = dt.date(2026, 11, 25)
    assert not stale(corpus, today) and not expired(catalog, today) and not broken_links(catalog, corpus)
    # Half a year later every item needs re-verifying; a scheme open past its deadline is flagged.
    assert {p.item for p in stale(corpus, today + dt.timedelta(days=200))} == {d.id for d in corpus}
    scheme = next(s for s in catalog.schemes if s.deadline and s.status.value == "open")
    assert any(p.item == scheme.id for p in expired(catalog, scheme.deadline + dt.timedelta(days=1)))
    module = next(iter(catalog.modules.values()))
    module.body += "\nSee `eco-design-for-robots` for more."
    assert [p.detail for p in broken_links(catalog, corpus)] == ["`eco-design-for-robots` in the text"]
    c = counts(catalog)
    assert c.schemes >= 90 and c.countries >= 27 and c.glossary_terms >= 25 and c.cases >= 10


def test_translated_case_figures_must_say_what_the_english_says():
    """A reader in another language gets the same figures: the check reports a translation that
    drops a figure or changes a number."""
    from bot.knowledge.audit import mistranslated_figures
    from bot.knowledge.catalog import Catalog
    from bot.knowledge.translations import TranslatedItem

    catalog = Catalog(KNOWLEDGE)
    assert mistranslated_figures(catalog) == []
    case = next(c for c in catalog.cases.values() if len(c.figures) >= 2 and re.search(r"\d", c.figures[0]))
    item = catalog.translations["fr"].items[case.id]
    wrong_number = [re.sub(r"\d+", "99", case.figures[0], count=1), *case.figures[1:]]
    for figures, expected in ((case.figures[:1], "1 figures"), (wrong_number, "other numbers")):
        files = catalog.translations
        files["fr"].items[case.id] = TranslatedItem(**{**item.model_dump(), "figures": figures})
        catalog.__dict__["translations"] = files  # the cached property, edited as a maintainer would
        found = mistranslated_figures(catalog)
        assert [p.item for p in found] == [case.id] and expected in found[0].detail


def test_every_scheme_states_a_figure_or_why_not(tmp_path):
    """Issue #16: each scheme has an amount or rate, or the explicit `no_fixed_amount` marker; the
    check reports one with neither, and the stats add up to the number of schemes."""
    import shutil

    from bot.knowledge.audit import counts, unmarked_amounts
    from bot.knowledge.catalog import Catalog

    catalog = Catalog(KNOWLEDGE)
    assert unmarked_amounts(catalog) == []
    c = counts(catalog)
    assert c.schemes_with_amount_or_rate + c.schemes_without_fixed_amount == c.schemes
    assert c.schemes_without_amount_or_marker == 0
    # The fixture has two schemes with neither: both are reported, and the sum then falls short.
    shutil.copytree(Path(__file__).parent / "fixtures" / "kb", tmp_path / "kb")
    fixture = Catalog(tmp_path / "kb")
    found = unmarked_amounts(fixture)
    assert {p.item for p in found} == {"dk-test-packaging-voucher", "eu-test-loan-guarantee"}
    assert {p.kind for p in found} == {"no-amount"} and "no_fixed_amount" in found[0].detail
    c = counts(fixture)
    assert (c.schemes_with_amount_or_rate, c.schemes_without_fixed_amount, c.schemes_without_amount_or_marker) == (
        1,
        0,
        2,
    )


def test_content_stats_and_check_print_the_amount_marker(tmp_path, monkeypatch, capsys):
    """`advisor content stats` splits the schemes into stated figures and marked ones; `content check`
    and the lint report a scheme with neither."""
    import shutil

    from typer.testing import CliRunner

    from bot.config import get_settings
    from bot.knowledge.content_cli import content_app
    from bot.knowledge.lint import main as lint

    def run(*args: str, root: Path):
        monkeypatch.setenv("ADVISOR_KNOWLEDGE_DIR", str(root))
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(content_app, list(args), env={"COLUMNS": "200"})
        finally:
            get_settings.cache_clear()

    out = run("stats", root=KNOWLEDGE).output
    stated = int(re.search(r"schemes stating an amount or a rate\s*\W\s*(\d+)", out).group(1))
    marked = int(re.search(r"schemes marked as publishing no fixed amount\s*\W\s*(\d+)", out).group(1))
    total = int(re.search(r"funding schemes\s*\W\s*(\d+)", out).group(1))
    assert stated + marked == total and total >= 90
    shutil.copytree(Path(__file__).parent / "fixtures" / "kb", tmp_path / "kb")
    checked = run("check", "--today", "2026-11-25", root=tmp_path / "kb")
    assert checked.exit_code == 1 and "dk-test-packaging-voucher" in checked.output and "no-amount" in checked.output
    assert "2 scheme(s) state no amount or rate" in run("stats", root=tmp_path / "kb").output
    assert lint([str(tmp_path / "kb")]) == 1
    assert "no-amount: eu-test-loan-guarantee:" in capsys.readouterr().err


def test_a_schemes_short_name_is_never_only_a_place():
    """The funding lead names schemes by their short name: "Basque Country" is where, not what,
    in every language ("País Vasco — Subvenciones…", not "País Vasco")."""
    from bot.knowledge.catalog import Catalog

    catalog = Catalog(KNOWLEDGE)
    for scheme in catalog.schemes:
        assert scheme.display_name not in {*scheme.regions, *scheme.countries}, scheme.id
        for language in catalog.translations:
            translated = catalog.translated(scheme.id, language)
            if translated is not None and translated.name and " — " in scheme.display_name:
                assert " — " in scheme.display_name_of(translated.name), (language, scheme.id)


def test_a_translated_scheme_text_keeps_the_english_numbers(tmp_path):
    """A scheme's translated text with another number than the English (a mistyped amount) or
    without a field the English has is reported; one for a scheme with no translated summary
    makes the knowledge base invalid."""
    import shutil

    import pytest

    from bot.knowledge.audit import mistranslated_figures
    from bot.knowledge.catalog import Catalog

    root = tmp_path / "kb"
    shutil.copytree(Path(__file__).parent / "fixtures" / "kb", root)
    assert mistranslated_figures(Catalog(root)) == []
    texts = root / "translations" / "schemes" / "fr.yaml"
    original = texts.read_text(encoding="utf-8")
    texts.write_text(original.replace("avant le début", "48 heures avant le début"), encoding="utf-8")
    found = mistranslated_figures(Catalog(root))
    assert [(p.item, p.kind) for p in found] == [("dk-test-packaging-voucher", "translation")]
    assert "how_to_apply has other numbers than the English (48)" in found[0].detail
    head, _, _ = original.partition("    how_to_apply:")
    texts.write_text(head, encoding="utf-8")
    assert "how_to_apply is missing" in mistranslated_figures(Catalog(root))[0].detail
    texts.write_text(original.replace("dk-test-packaging-voucher", "eu-test-loan-guarantee"), encoding="utf-8")
    with pytest.raises(ValueError, match="eu-test-loan-guarantee has no translated title and summary"):
        _ = Catalog(root).translations


def test_a_translated_module_keeps_the_english_sections_and_numbers(tmp_path):
    """A module's translation must have the English sections in order, each with the same numbers
    and item references; content check names the section that differs."""
    import shutil

    from bot.knowledge.audit import mistranslated_modules
    from bot.knowledge.catalog import Catalog

    root = tmp_path / "kb"
    shutil.copytree(Path(__file__).parent / "fixtures" / "kb", root)
    assert mistranslated_modules(Catalog(root)) == []
    path = root / "translations" / "modules" / "fr" / "eco-design-basics.md"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("environ un vingtième", "environ 1/20"), encoding="utf-8")
    found = mistranslated_modules(Catalog(root))
    assert [p.item for p in found] == ["eco-design-basics"]
    assert "section 'Recycled content' has other numbers (1, 20)" in found[0].detail
    path.write_text(original.split("## Contenu recyclé")[0], encoding="utf-8")
    assert "1 sections, the English has 2" in mistranslated_modules(Catalog(root))[0].detail
    path.write_text(original.replace("séparés en fin de vie", "séparés (voir `eco-design`)"), encoding="utf-8")
    assert "points at other items" in mistranslated_modules(Catalog(root))[0].detail
