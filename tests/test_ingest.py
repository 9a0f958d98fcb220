"""Incremental ingestion against the real embedded Chroma and the bundled embedding model."""

import asyncio
from pathlib import Path

import pytest

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.index import EmbeddingModelMismatch
from bot.knowledge.loaders import ContentInvalid
from tests.conftest import updated


def test_first_ingest_embeds_everything_then_nothing(settings):
    kb = KnowledgeBase.open(settings)
    first = kb.sync()
    assert first.documents == {"module": 2, "funding": 3}
    assert sum(first.embedded.values()) == kb.index.count() > 5
    again = kb.sync()
    assert not again.changed
    assert sum(again.embedded.values()) == 0


def test_editing_one_file_reembeds_only_its_chunks(kb, small_kb: Path):
    before = kb.index.existing()
    module = small_kb / "modules" / "industrial-symbiosis-basics.md"
    module.write_text(module.read_text().replace("spent grain", "spent grain and yeast"))
    report = kb.sync()
    after = kb.index.existing()
    changed_sources = {after[c]["source_id"] for c in set(after) - set(before)}
    assert changed_sources == {"industrial-symbiosis-basics"}
    assert report.embedded == {"module": len(set(after) - set(before))}
    assert {before[c]["source_id"] for c in set(before) - set(after)} == {"industrial-symbiosis-basics"}


def test_removed_source_is_deleted_from_index(kb, small_kb: Path):
    (small_kb / "modules" / "eco-design-basics.md").unlink()
    report = kb.sync()
    assert report.deleted_sources == ["eco-design-basics"]
    assert all(m["source_id"] != "eco-design-basics" for m in kb.index.existing().values())
    kb.retriever.reload()
    hits = kb.search("design for disassembly with screws instead of glue", k=3)
    assert hits and all(p.source_id != "eco-design-basics" for p in hits)


def test_malformed_file_writes_nothing(kb, small_kb: Path):
    before = kb.index.existing()
    module = small_kb / "modules" / "eco-design-basics.md"
    module.write_text(module.read_text().replace("spent grain", "x"))  # a harmless edit...
    (small_kb / "funding" / "broken.yaml").write_text("schemes:\n  - id: x\n")  # ...and a bad file
    (small_kb / "modules" / "new-module.md").write_text(
        (small_kb / "modules" / "eco-design-basics.md").read_text().replace("id: eco-design-basics", "id: new-module")
    )
    with pytest.raises(ContentInvalid):
        kb.sync()
    assert kb.index.existing() == before


def test_extra_folder_is_added_without_touching_shipped_content(kb, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "repair-cafe.md").write_text("# Repair cafés\n\nVolunteers fix toasters and bicycles.\n")
    kb.sync([extra])
    kb.sync()  # syncing knowledge/ again must not delete the extra folder's chunks
    ids = {m["source_id"] for m in kb.index.existing().values()}
    assert "doc-repair-cafe" in ids and "eco-design-basics" in ids
    (extra / "repair-cafe.md").unlink()
    kb.sync([extra])
    assert "doc-repair-cafe" not in {m["source_id"] for m in kb.index.existing().values()}


def test_querying_with_another_embedding_model_is_refused(kb, settings):
    other = updated(settings, embedding_backend="openai", embedding_model="other")
    with pytest.raises(EmbeddingModelMismatch, match="advisor ingest --rebuild"):
        KnowledgeBase.open(other)
    rebuilt = KnowledgeBase.open(settings, rebuild=True)
    assert rebuilt.is_empty()


async def test_openai_compatible_embedding_backend(settings, tmp_path):
    """The same ingestion and search through a real `openai` client and an HTTP embeddings server."""
    from tests.stubs.openai_server import OpenAIStub

    stub = await OpenAIStub().start()
    try:
        remote = updated(
            settings,
            data_dir=tmp_path / "remote",
            embedding_backend="openai",
            embedding_model="stub-embed",
            llm_base_url=stub.url,
            llm_api_key="k",
        )
        kb = KnowledgeBase.open(remote)
        report = await asyncio.to_thread(kb.sync)
        assert sum(report.embedded.values()) == kb.index.count() > 0
        assert any(r.get("model") == "stub-embed" for r in stub.requests)
        hits = await asyncio.to_thread(kb.search, "Test Agency Denmark packaging voucher", 2)
        assert hits[0].source_id == "dk-test-packaging-voucher"
        assert kb.index.collection.metadata["embedding_model"] == "openai/stub-embed"
    finally:
        await stub.stop()


def test_a_modules_reference_list_is_not_indexed_as_something_it_says(settings):
    """A hit on the links a module cites has nothing to show: only what it says is searched."""
    from bot.knowledge.loaders import load_module
    from tests.conftest import REPO

    path = REPO / "knowledge" / "modules" / "sector-textiles.md"
    body = path.read_text(encoding="utf-8")
    assert "## Sources" in body and "eur-lex.europa.eu" in body
    doc = load_module(path, "modules/sector-textiles.md")
    assert "## Sources" not in doc.text and "eur-lex.europa.eu" not in doc.text
    assert "## Checklist" in doc.text  # the sections before it stay
