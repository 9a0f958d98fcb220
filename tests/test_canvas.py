"""The circular business-model canvas (bot/tools/canvas.py): the walk, what fits (modules and
funding from the real knowledge base), the one-page document in English and French, the
dossier line, the store, and `advisor canvas` in a terminal."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.knowledge.catalog import Catalog
from bot.tools.canvas import (
    BLOCKS,
    MAX_CHARS,
    TooLong,
    Wording,
    accept,
    build,
    fit_modules,
    fit_schemes,
    html,
    latest,
    markdown,
    next_block,
    question,
    summary,
    title,
)
from tests.conftest import REPO

CATALOG = Catalog(REPO / "knowledge")
WORDING = Wording(REPO / "prompts")
AT = dt.datetime(2026, 3, 14, 9, 30, tzinfo=dt.UTC)
ANSWERS = {
    "value_proposition": "Workwear with a 5-year repair guarantee, 50% recycled polyester.",
    "customers": "Municipalities buying uniforms.",
    "take_back": "Returns in the delivery boxes.",
    "revenue_model": "Workwear as a service: monthly fee per employee.",
    "partners": "A sorting centre and a fibre recycler.",
    "resource_loops": "Offcuts sold to an insulation maker.",
    "risks": None,  # skipped
}


def test_the_walk_goes_through_every_block_in_order_with_sector_examples():
    assert next_block({}) == "value_proposition"
    assert next_block({"value_proposition": None}) == "customers"
    assert next_block(dict.fromkeys(BLOCKS)) is None
    textiles = question(WORDING, "take_back", "en", "textiles")
    assert textiles.startswith("Block 3 of 7: Take-back and reverse logistics\n")
    assert "Example: Customers return worn garments" in textiles
    general = question(WORDING, "take_back", "fr", "chemicals")  # no example for the sector
    assert general.startswith("Bloc 3 sur 7 : Reprise et logistique inverse\n")
    assert "Exemple : Nous reprenons les machines usagées" in general


def test_every_block_and_example_is_worded_in_english_and_french():
    for lang in ("en", "fr"):
        table = WORDING.table[lang]
        assert set(table["blocks"]) == set(BLOCKS) == set(table["examples"])
        for examples in table["examples"].values():
            assert "default" in examples
    assert set(WORDING.table["en"]) == set(WORDING.table["fr"])
    assert set(WORDING.table["en"]["document"]) == set(WORDING.table["fr"]["document"])


def test_answers_are_trimmed_and_too_long_or_empty_ones_refused():
    assert accept("  Leasing   per month \n\n  with repair ") == "Leasing per month\nwith repair"
    with pytest.raises(TooLong) as exc:
        accept("x" * (MAX_CHARS + 1))
    assert exc.value.length == MAX_CHARS + 1
    with pytest.raises(ValueError):
        accept(" \n ")


def test_modules_fit_the_sector_and_the_answered_blocks():
    modules = [m.meta.id for m in fit_modules(CATALOG, ANSWERS, "textiles")]
    assert 2 <= len(modules) <= 4
    assert modules[0] == "sector-textiles"  # written for the sector, first
    assert "circular-business-models" in modules
    assert not any(m in modules for m in ("sector-construction", "sector-electronics"))  # other sectors'
    # Only resource loops answered: waste and by-product modules, never fewer than two.
    loops = [m.meta.id for m in fit_modules(CATALOG, {"resource_loops": "offcuts"}, None)]
    assert 2 <= len(loops) <= 4 and "waste-prevention-by-products" in loops


def test_schemes_are_ones_the_company_can_apply_to_and_fit_the_canvas():
    schemes = fit_schemes(CATALOG, ANSWERS, "FR", "textiles", "small")
    assert 1 <= len(schemes) <= 3
    wanted = {t for b, topics in BLOCKS.items() if ANSWERS[b] for t in topics}
    for scheme in schemes:
        assert "FR" in scheme.countries or scheme.eu_wide
        assert "small" in {s.value for s in scheme.company_sizes}
        assert set(scheme.topics) & wanted and scheme.status != "closed"
    assert fit_schemes(CATALOG, {}, "FR", None, None) == []  # nothing answered: nothing fits


def test_the_document_in_english_lists_blocks_then_where_to_go_next():
    record = build(CATALOG, ANSWERS, "en", country="FR", sector="textiles", size="small", at=AT)
    text = markdown(WORDING, record, CATALOG, sector_label="Textiles", size_label="Small (10-49)")
    assert text.startswith("# Circular business-model canvas: Textiles, FR\n")
    assert "Prepared on 14 March 2026" in text and "Size: Small (10-49)" in text
    assert "## 4. Revenue model\n\nWorkwear as a service: monthly fee per employee." in text
    assert "## 7. Risks\n\n*Skipped: to be completed.*" in text
    assert text.index("## 7. Risks") < text.index("## Where to go next") < text.index("### Funding schemes")
    for module_id in record.modules:
        assert CATALOG.modules[module_id].meta.title in text
    for scheme_id in record.schemes:
        scheme = CATALOG.scheme(scheme_id)
        assert scheme is not None and scheme.name in text and f"<{scheme.source_url}>" in text
    page = html(text, "en", title(WORDING, record, "Textiles"))
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page and "@media print" in page
    assert "<h1>Circular business-model canvas: Textiles, FR</h1>" in page
    assert "<h2>4. Revenue model</h2>" in page and '<a href="https://' in page


def test_the_document_in_french_with_translated_module_titles():
    record = build(CATALOG, ANSWERS, "fr", country="FR", sector="textiles", size="small", at=AT)
    text = markdown(WORDING, record, CATALOG, sector_label="Textile")
    assert text.startswith("# Canevas de modèle d'affaires circulaire : Textile, FR\n")
    assert "Établi le 14 mars 2026" in text and "Taille : non précisé" in text
    assert "## 3. Reprise et logistique inverse" in text and "*Passé : à compléter.*" in text
    assert "## Pour aller plus loin" in text and "### Financements" in text
    translated = CATALOG.translated("circular-business-models", "fr")
    assert translated is not None and translated.title in text


def test_what_the_sme_typed_is_shown_never_run():
    answers = {**ANSWERS, "customers": "<script>alert(1)</script> *all* [x](javascript:y)\n# not a title"}
    record = build(CATALOG, answers, "en", country=None, sector=None, size=None, at=AT)
    text = markdown(WORDING, record, CATALOG)
    assert text.startswith("# Circular business-model canvas: my company")
    page = html(text, "en", title(WORDING, record))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript' not in page and "<h1>not a title" not in page and "*all*" in page
    assert "No scheme in our catalogue fits" not in text or not record.schemes


def test_the_dossier_line_and_the_stored_record():
    record = build(CATALOG, ANSWERS, "en", country="FR", sector="textiles", size="small", at=AT)
    stored = record.model_dump(mode="json")
    assert latest(stored) == record and latest(None) is None and summary(None) is None
    assert summary({"at": "garbage"}) is None  # a damaged record never breaks a dossier
    line = summary(stored)
    assert line is not None and line.startswith("2026-03-14: 6/7 blocks")
    assert "revenue model: Workwear as a service" in line and "take back: Returns" in line


async def test_the_canvas_is_kept_exported_and_forgotten(store):
    user = await store.get_or_create_user(telegram_id=778)
    record = build(CATALOG, ANSWERS, "en", country="FR", sector="textiles", size="small", at=AT)
    await store.update_profile(user.id, canvas=record.model_dump(mode="json"))
    exported = await store.export_user(user.id)
    assert exported["business_model_canvas"]["answers"]["revenue_model"].startswith("Workwear")
    assert "canvas" not in exported["profile"]
    await store.delete_user(user.id)
    assert (await store.get_or_create_user(telegram_id=778)).canvas is None


# The terminal -----------------------------------------------------------------------------------
def run_canvas(tmp_path: Path, args: list[str], typed: str) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")},
        "ADVISOR_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "250",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "canvas", *args],
        input=typed,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_advisor_canvas_asks_every_block_and_writes_both_files(tmp_path):
    typed = "\n".join(["Repairable workwear", "", "Returns by post", "x" * 1200, "Leasing", "", "", ""]) + "\n"
    args = ["--out", "out", "--country", "fr", "--sector", "textiles", "--size", "small", "--lang", "fr"]
    done = run_canvas(tmp_path, args, typed)
    assert done.returncode == 0, done.stderr
    assert "Bloc 1 sur 7 : Proposition de valeur" in done.stdout and "Exemple : Des vêtements de travail" in done.stdout
    assert "1200 caractères" in done.stderr
    files = sorted((tmp_path / "out").iterdir())
    assert [f.suffix for f in files] == [".html", ".md"]
    text = files[1].read_text(encoding="utf-8")
    assert text.startswith("# Canevas de modèle d'affaires circulaire : Textile, FR")
    assert "## 4. Modèle de revenus\n\nLeasing" in text and "## 2. Clients\n\n*Passé : à compléter.*" in text
    assert "<h1>Canevas de modèle d'affaires circulaire : Textile, FR</h1>" in files[0].read_text(encoding="utf-8")


def test_advisor_canvas_refuses_an_unknown_sector(tmp_path):
    done = run_canvas(tmp_path, ["--sector", "spaceships"], "")
    assert done.returncode == 2 and "unknown sector" in done.stderr and "Traceback" not in done.stderr
