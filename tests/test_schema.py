"""A malformed file fails ingestion with file, line, field and reason; nothing is half-written."""

from pathlib import Path

import pytest

from bot.knowledge.loaders import ContentInvalid, load_corpus


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def errors_for(root: Path) -> list:
    with pytest.raises(ContentInvalid) as info:
        load_corpus([root])
    return info.value.errors


def test_funding_error_points_at_file_line_and_field(tmp_path):
    write(
        tmp_path / "funding" / "bad.yaml",
        """schemes:
  - id: it-bad-scheme
    name: Bad scheme
    provider: Somebody
    countries: [IT]
    instruments: [grant, gift]
    company_sizes: [small]
    topics: [eco-design]
    description: A description that is long enough to pass the minimum length check.
    last_verified: 2026-11-22
""",
    )
    errs = errors_for(tmp_path)
    by_field = {e.field: e for e in errs}
    assert by_field["schemes.0.instruments.1"].line == 6
    assert "grant" in by_field["schemes.0.instruments.1"].message
    assert by_field["schemes.0.source_url"].message == "Field required"
    assert all(e.path.endswith("bad.yaml") for e in errs)


def test_unknown_topic_lists_the_allowed_vocabulary(tmp_path):
    text = (Path(__file__).parent / "fixtures/kb/modules/eco-design-basics.md").read_text()
    write(
        tmp_path / "modules" / "m.md",
        text.replace("topics: [eco-design, repair]", "topics: [ecodesgn]"),
    )
    (err,) = errors_for(tmp_path)
    assert err.field == "topics"
    assert err.line == 7  # the front matter line, counted in the Markdown file
    assert "ecodesgn" in err.message and "eco-design" in err.message


def test_module_without_front_matter_and_invalid_yaml(tmp_path):
    write(tmp_path / "modules" / "plain.md", "# Just a heading\n\nText.\n")
    write(tmp_path / "funding" / "broken.yaml", "schemes:\n  - id: [unclosed\n")
    errs = errors_for(tmp_path)
    messages = {Path(e.path).name: e for e in errs}
    assert "front matter" in messages["plain.md"].message
    assert "not valid YAML" in messages["broken.yaml"].message
    assert messages["broken.yaml"].line is not None


def test_duplicate_ids_across_files_are_rejected(tmp_path):
    fixture = Path(__file__).parent / "fixtures/kb/funding/schemes.yaml"
    write(tmp_path / "funding" / "a.yaml", fixture.read_text())
    write(tmp_path / "funding" / "b.yaml", fixture.read_text())
    errs = errors_for(tmp_path)
    assert any("duplicate id 'fr-test-ecodesign-grant'" in e.message for e in errs)


def test_amount_without_currency_is_an_error(tmp_path):
    fixture = (Path(__file__).parent / "fixtures/kb/funding/schemes.yaml").read_text()
    write(tmp_path / "funding" / "a.yaml", fixture.replace("    currency: EUR\n", ""))
    (err,) = errors_for(tmp_path)
    assert "currency" in err.message


def test_dropped_in_documents_load(tmp_path):
    write(tmp_path / "documents" / "note.md", "# Repair cafés\n\nHow a repair café works.\n")
    write(
        tmp_path / "documents" / "page.html",
        "<html><head><title>Take-back</title></head><body><h2>Returns</h2><p>Customers return"
        " used pallets.</p><script>x()</script></body></html>",
    )
    docs = {d.id: d for d in load_corpus([tmp_path])}
    assert docs["doc-documents-note"].title == "Repair cafés"
    page = docs["doc-documents-page"]
    assert page.title == "Take-back" and "## Returns" in page.text and "x()" not in page.text


def test_pdf_documents_load(tmp_path):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Title": "Blank"})
    with open(tmp_path / "blank.pdf", "wb") as fh:
        writer.write(fh)
    # A PDF without extractable text is reported, not silently indexed as empty.
    (err,) = errors_for(tmp_path)
    assert "no extractable text" in err.message


def test_no_fixed_amount_marker_excludes_a_stated_amount_or_rate(tmp_path):
    """`no_fixed_amount` says why a scheme states no figure; with a figure it is a contradiction."""
    fixture = (Path(__file__).parent / "fixtures/kb/funding/schemes.yaml").read_text()
    marked = fixture.replace("    status: rolling\n", "    no_fixed_amount: varies_by_call\n    status: rolling\n")
    write(tmp_path / "funding" / "a.yaml", marked)
    (err,) = errors_for(tmp_path)
    assert "no_fixed_amount" in err.message and "exclude each other" in err.message
    # A rate alone is a figure too; an unknown reason is not in the vocabulary.
    write(tmp_path / "funding" / "a.yaml", marked.replace("    amount_min: 5000\n    amount_max: 200000\n", ""))
    assert "exclude each other" in errors_for(tmp_path)[0].message
    voucher = "    status: recurring\n"
    write(tmp_path / "funding" / "a.yaml", fixture.replace(voucher, "    no_fixed_amount: ask_us\n" + voucher))
    assert "varies_by_call" in errors_for(tmp_path)[0].message
    # On a scheme with no figure it is valid.
    write(tmp_path / "funding" / "a.yaml", fixture.replace(voucher, "    no_fixed_amount: varies_by_call\n" + voucher))
    docs = {d.id: d for d in load_corpus([tmp_path])}
    assert "dk-test-packaging-voucher" in docs
