"""Incremental ingestion: validate everything, then embed only new or changed chunks.

Chunk ids are content addresses (source id + hash of the source and the chunk), so a re-run
with nothing changed embeds nothing, an edited file re-embeds only its own chunks, and chunks
whose source disappeared from an ingested folder are deleted. A chunk whose text is in the
shipped vector cache (bot/knowledge/vector_cache.py) is stored with the cached vector instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from bot.knowledge.chunking import Chunk, split_document
from bot.knowledge.index import KnowledgeIndex, chunk_metadata
from bot.knowledge.loaders import SourceDocument, load_corpus
from bot.knowledge.vector_cache import VectorCache

EMBED_BATCH = 32
CACHED_BATCH = 512  # no model call: only Chroma's write cost per batch

# progress(done, total) after each embedded batch
Progress = Callable[[int, int], None]
# (document, chunk, the chunk's Chroma metadata)
Item = tuple[SourceDocument, Chunk, dict[str, Any]]


class IngestReport(BaseModel):
    documents: Counter = Field(default_factory=Counter)  # kind -> documents
    chunks: Counter = Field(default_factory=Counter)  # kind -> chunks in the index
    embedded: Counter = Field(default_factory=Counter)  # kind -> chunks embedded this run
    cached: Counter = Field(default_factory=Counter)  # kind -> chunks stored from the vector cache
    deleted: int = 0
    deleted_sources: list[str] = Field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(sum(self.embedded.values()) or sum(self.cached.values()) or self.deleted)


def plan(docs: Sequence[SourceDocument], roots: dict[str, str]) -> list[Item]:
    items: list[Item] = []
    for doc in docs:
        root = roots[doc.path]
        for chunk in split_document(doc):
            items.append((doc, chunk, chunk_metadata(doc, chunk, root)))
    return items


def ingest(
    paths: Sequence[Path],
    index: KnowledgeIndex,
    progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
    vector_cache: Callable[[], VectorCache | None] | None = None,
) -> IngestReport:
    """Sync the index with `paths`. Raises ContentInvalid before writing anything.
    `vector_cache` is called only when there is something to store (the cache is not read otherwise)."""
    paths = [Path(p).resolve() for p in paths]
    docs = load_corpus(paths)
    roots = {}
    for doc in docs:
        doc_path = Path(doc.path).resolve()
        roots[doc.path] = str(next(p for p in paths if doc_path == p or p in doc_path.parents))
    items = plan(docs, roots)

    existing = index.existing()
    wanted = {chunk.id for _, chunk, _ in items}
    scope = {str(p) for p in paths}
    stale = [cid for cid, meta in existing.items() if meta.get("root") in scope and cid not in wanted]
    todo = [item for item in items if item[1].id not in existing]

    report = IngestReport()
    for doc in docs:
        report.documents[doc.kind] += 1
    for doc, _, _ in items:
        report.chunks[doc.kind] += 1

    if on_total:
        on_total(len(todo))
    cache = vector_cache() if todo and vector_cache else None
    hits: list[tuple[Item, list[float] | None]] = []
    misses: list[tuple[Item, list[float] | None]] = []
    for item in todo:
        vector = cache.get(item[1].text) if cache else None
        (misses if vector is None else hits).append((item, vector))
    # Write before deleting, so an interrupted run never leaves a source missing; cached vectors
    # first, as they cost no model call.
    done = 0
    for work, size, from_cache in ((hits, CACHED_BATCH, True), (misses, EMBED_BATCH, False)):
        counter = report.cached if from_cache else report.embedded
        for start in range(0, len(work), size):
            batch = work[start : start + size]
            vectors = [v for _, v in batch if v is not None] if from_cache else None  # hits: all cached
            index.add([c for (_, c, _), _ in batch], [m for (_, _, m), _ in batch], vectors)
            for (doc, _, _), _ in batch:
                counter[doc.kind] += 1
            done += len(batch)
            if progress:
                progress(done, len(todo))
    if stale:
        current = {doc.id for doc in docs}
        report.deleted_sources = sorted({existing[c]["source_id"] for c in stale} - current)
        index.delete(stale)
        report.deleted = len(stale)
    return report
