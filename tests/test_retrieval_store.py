"""The retriever's files (bot/knowledge/stored.py): a reopened retriever answers from them exactly
as one that reads every chunk into memory; a changed index, a missing or corrupt file, a data dir
it cannot write are never answered from stale files, nor a crash."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.knowledge import stored
from bot.knowledge.chunking import Chunk
from bot.knowledge.index import FLAGS, NO_COUNTRY_FLAG
from bot.knowledge.retrieve import Boosts, Filters, HybridRetriever, Snapshot, StoredSnapshot

QUERIES = [
    "waste heat from a foundry to warm a greenhouse",
    "Comment concevoir un meuble démontable et réparable ?",
    "Test Agency Denmark",
    "grant or voucher for redesigning packaging",
    "money for my company",
    "eco-design support for small firms",
]
FILTERS = [
    None,
    Filters(country="DK"),
    Filters(country="fr"),
    Filters(kinds=["funding"]),
    Filters(kinds=["module"], topics=["eco-design"]),
    Filters(instruments=["loan", "grant"]),
    Filters(topics=["eco-design"], country="FR"),
    Filters(source_ids=["eu-test-loan-guarantee", "eco-design-basics"]),
    Filters(country="ZZ", instruments=["nothing-like-this"]),
]
BOOSTS = [None, Boosts(country="DK", sector="packaging", company_size="small", kinds=["funding"])]


def results(retriever: HybridRetriever, vectors: dict[str, list[float]]) -> list[list[dict]]:
    """Every field of every passage, for every query, filter and boost (similarities compared apart)."""
    out = []
    for query, filters, boosts in itertools.product(QUERIES, FILTERS, BOOSTS):
        hits = retriever.search(
            query, k=6, filters=filters, boosts=boosts, max_per_source=2, query_vector=vectors[query]
        )
        out.append([hit.model_dump() for hit in hits])
    return out


def same_results(a: list[list[dict]], b: list[list[dict]]) -> None:
    assert len(a) == len(b)
    for hits_a, hits_b in zip(a, b, strict=True):
        assert [h["chunk_id"] for h in hits_a] == [h["chunk_id"] for h in hits_b]
        for x, y in zip(hits_a, hits_b, strict=True):
            sx, sy = x.pop("dense_similarity"), y.pop("dense_similarity")
            assert x == y
            assert (sx is None) == (sy is None) and (sx is None or abs(sx - sy) < 1e-6)


@pytest.fixture
def vectors(kb):
    return {q: kb.index.embeddings.embed_query(q) for q in QUERIES}


def in_memory(kb) -> HybridRetriever:
    return HybridRetriever(kb.index, persist=False)


def versions(kb) -> list[Path]:
    return sorted(p for p in kb.index.stored_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_reopened_retriever_answers_from_its_files_as_from_memory(kb, vectors, monkeypatch):
    first = kb.retriever  # the first open wrote the files
    assert isinstance(first.snapshot, StoredSnapshot) and len(versions(kb)) == 1

    def no_build(*args, **kwargs):
        raise AssertionError("a reopen with nothing changed must not rebuild")

    monkeypatch.setattr(stored, "build", no_build)
    reopened = HybridRetriever(kb.index)
    memory = in_memory(kb)
    assert isinstance(reopened.snapshot, StoredSnapshot) and type(memory.snapshot) is Snapshot

    same_results(results(reopened, vectors), results(memory, vectors))
    same_results(results(first, vectors), results(memory, vectors))
    # What the layers above read about the version is the same too.
    assert reopened.ids == memory.ids
    assert list(reopened.docs) == list(memory.docs) and reopened.docs[-1] == memory.docs[-1]
    assert list(reopened.metas) == list(memory.metas) and reopened.metas[1:3] == memory.metas[1:3]
    assert reopened.item_texts == memory.item_texts
    for source in ("eco-design-basics", "dk-test-packaging-voucher", "no-such-source"):
        expected = [m for m in memory.metas if m["source_id"] == source]
        assert reopened.metas_of(source) == memory.metas_of(source) == expected
    assert reopened.countries_with_schemes == memory.countries_with_schemes
    assert np.array_equal(reopened.vectors, memory.vectors)
    # The vectors are memory-mapped from the file, not read from Chroma.
    assert isinstance(reopened.vectors, np.memmap)


def test_column_filters_select_what_python_filters_select(kb):
    snap = kb.retriever.snapshot
    assert isinstance(snap, StoredSnapshot)
    metas = list(snap.metas)
    values = {
        "country": [None, "DK", "fr", "EU", "ZZ"],
        "kinds": [[], ["funding"], ["module"], ["funding", "module"]],
        "instruments": [[], ["grant"], ["loan", "voucher"], ["unknown"]],
        "topics": [[], ["eco-design"], ["packaging", "industrial-symbiosis"]],
        "source_ids": [[], ["dk-test-packaging-voucher"], ["eco-design-basics", "nope"]],
    }
    for combo in itertools.product(*values.values()):
        filters = Filters(**dict(zip(values, combo, strict=True)))
        expected = np.array([filters.matches(m) for m in metas])
        mask = snap.mask(filters)
        assert (mask is None) == (filters.to_where() is None)
        assert np.array_equal(mask if mask is not None else np.ones(len(metas), bool), expected), filters


def test_every_filter_flag_is_a_stored_column():
    assert all(prefix.startswith(stored.FLAG_PREFIXES) for prefix in [*FLAGS.values(), NO_COUNTRY_FLAG])


def test_index_changed_by_ingest_is_not_answered_from_old_files(kb, small_kb, vectors):
    kb.retriever  # noqa: B018 - writes the files of this version
    old = versions(kb)
    (small_kb / "modules" / "eco-design-basics.md").unlink()
    kb.sync()  # deletes the module's chunks and reloads the retriever
    assert versions(kb) != old and len(versions(kb)) == 1  # the old version is gone
    assert all(m["source_id"] != "eco-design-basics" for m in kb.retriever.metas)
    reopened = HybridRetriever(kb.index)
    assert not any(cid.startswith("eco-design-basics::") for cid in reopened.ids)
    same_results(results(reopened, vectors), results(in_memory(kb), vectors))


def test_chunk_rewritten_under_the_same_id_is_not_served_stale(kb):
    """Ids are content addresses, but a write through KnowledgeIndex that keeps them (an upsert)
    must still invalidate the files: the vector and the text served are the new ones."""
    retriever = kb.retriever
    cid, meta = retriever.ids[0], dict(retriever.metas[0])
    assert isinstance(retriever.snapshot, StoredSnapshot)
    dim = retriever.vectors.shape[1]
    new_vector = [0.0] * dim
    new_vector[0] = 1.0
    chunk = Chunk(id=cid, source_id=meta["source_id"], index=0, section="", text="Rewritten text", passage="p")
    kb.index.add([chunk], [meta], [new_vector])
    reopened = HybridRetriever(kb.index)
    assert reopened.ids == retriever.ids  # same ids: only the write token tells the versions apart
    assert reopened.docs[0] == "Rewritten text"
    assert reopened.vectors[0][0] == 1.0 and not reopened.vectors[0][1:].any()
    hits = reopened.search("Rewritten text", k=1, query_vector=new_vector)
    assert hits[0].chunk_id == cid and hits[0].text == "Rewritten text"


def test_index_changed_behind_the_knowledge_index_is_not_answered_from_old_files(kb, vectors):
    """A chunk deleted straight in Chroma (another replica, another tool) changes the ids."""
    before = kb.retriever.ids
    kb.index.collection.delete(ids=[before[0]])
    reopened = HybridRetriever(kb.index)
    assert reopened.ids == before[1:]
    assert before[0] not in reopened.snapshot.position
    assert list(reopened.docs) == list(in_memory(kb).docs)
    same_results(results(reopened, vectors), results(in_memory(kb), vectors))


BREAKAGES = {
    "manifest missing": lambda d: (d / "manifest.json").unlink(),
    "manifest garbage": lambda d: (d / "manifest.json").write_text("{not json"),
    "int8 vectors missing": lambda d: (d / "vectors.i8.npy").unlink(),
    "float32 vectors truncated": lambda d: _truncate(d / "vectors.f32.npy"),
    "scales garbage": lambda d: (d / "vectors.scale.npy").write_bytes(b"garbage"),
    "texts truncated": lambda d: _truncate(d / "docs.bin"),
    "metadata offsets missing": lambda d: (d / "metas.idx.npy").unlink(),
    "columns garbage": lambda d: (d / "columns.json").write_text("[]"),
    "flags of another shape": lambda d: np.save(d / "flags.npy", np.zeros((1, 1), bool)),
    "bm25 parameters missing": lambda d: (d / "bm25" / "params.index.json").unlink(),
    "bm25 scores truncated": lambda d: _truncate(d / "bm25" / "data.csc.index.npy"),
    "folder missing": shutil.rmtree,
}


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_missing_or_corrupt_file_is_rebuilt(kb, vectors, breakage):
    kb.retriever  # noqa: B018
    (version,) = versions(kb)
    BREAKAGES[breakage](version)
    reopened = HybridRetriever(kb.index)
    assert isinstance(reopened.snapshot, StoredSnapshot)  # rebuilt, not read into memory
    same_results(results(reopened, vectors), results(in_memory(kb), vectors))
    manifest = json.loads((version / "manifest.json").read_text())
    assert versions(kb) == [version] and manifest["rows"] == len(kb.index.ids())


def test_data_dir_it_cannot_write_falls_back_to_memory(kb, vectors):
    root = kb.index.stored_dir
    shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    root.write_text("not a folder")  # neither the version nor the write token can go there
    retriever = HybridRetriever(kb.index)
    assert type(retriever.snapshot) is Snapshot
    same_results(results(retriever, vectors), results(in_memory(kb), vectors))


def test_a_search_spanning_a_reload_reads_the_files_of_one_version(kb):
    """A reload that builds the next version and removes the previous one's files while a search
    is between BM25 scoring and reading texts: the search still reads its own version."""
    retriever = HybridRetriever(kb.index)
    before = dict(zip(retriever.ids, retriever.docs, strict=True))
    query = "waste heat from a foundry to warm a greenhouse"
    first = retriever.search(query, k=1)[0].chunk_id
    old = versions(kb)
    bm25 = retriever.snapshot.bm25
    score = bm25.get_scores

    def score_then_reload(tokens):
        scores = score(tokens)
        if retriever.snapshot.bm25 is bm25:
            kb.index.delete([first])
            retriever.reload()
            assert versions(kb) != old and not old[0].exists()
        return scores

    bm25.get_scores = score_then_reload
    hits = retriever.search(query, k=5, max_per_source=3)
    assert first in {hit.chunk_id for hit in hits}  # found in the version the search began with
    assert all(hit.text == before[hit.chunk_id] for hit in hits)
    assert first not in retriever.snapshot.position


def test_empty_index(settings):
    from bot.knowledge.base import KnowledgeBase

    kb = KnowledgeBase.open(settings)
    retriever = kb.retriever
    assert len(retriever) == 0 and retriever.search("anything at all", query_vector=[0.1] * 384) == []


def make_vectors(rng, rows: int, dim: int) -> np.ndarray:
    base = rng.standard_normal(dim).astype(np.float32)
    vectors = (2 * base + rng.standard_normal((rows, dim))).astype(np.float32)  # a cone, like e5's
    vectors[5] = vectors[9]  # duplicates: equal scores, the earlier row first
    vectors[7] = vectors[9]
    vectors[11] = 0  # a zero vector (scores 0)
    return stored.normalise(vectors)


@pytest.mark.parametrize("rows", [1, 3, 40, 2500])
def test_int8_scan_with_float32_rescoring_is_the_exact_top_n(tmp_path, rows):
    rng = np.random.default_rng(rows)
    dim = 48
    unit = make_vectors(rng, max(rows, 12), dim)[:rows]
    codes, scale, err = stored.quantise(unit)
    np.save(tmp_path / "vectors.f32.npy", unit)
    np.save(tmp_path / "vectors.i8.npy", codes)
    np.save(tmp_path / "vectors.scale.npy", scale)
    np.save(tmp_path / "vectors.err.npy", err)
    dense = stored.DenseVectors(tmp_path, rows, dim)
    snapshot = Snapshot([str(i) for i in range(rows)], [""] * rows, [{}] * rows, unit, None)
    for trial in range(20):
        query = unit[trial % rows] + 0.3 * rng.standard_normal(dim).astype(np.float32)
        mask = rng.random(rows) < 0.3 if trial % 3 == 1 else None
        for n in (1, 5, 30, rows + 5):
            got = dense.top(query, n, mask)
            scores = unit @ query
            if mask is not None:
                scores = np.where(mask, scores, -np.inf)
            order = [i for i in np.lexsort((np.arange(rows), -scores)) if np.isfinite(scores[i])][:n]
            assert [i for i, _ in got] == order
            assert np.allclose([s for _, s in got], scores[order], atol=1e-6)
            assert [i for i, _ in snapshot.dense(query, n, mask)] == order or len(set(scores[order])) < len(order)
