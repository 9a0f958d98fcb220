"""The Chroma collection that holds the chunks, embedded or on a Chroma server.

List-valued metadata (countries, topics, ...) is stored twice: as a readable comma-joined string
and as one boolean flag per value (`c_FR`, `t_eco-design`), because Chroma filters match scalar
values only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

import chromadb
import numpy as np
from chromadb.api.types import Include, Metadata, PyEmbedding
from chromadb.config import Settings as ChromaSettings

from bot.config import Settings
from bot.knowledge import stored
from bot.knowledge.chunking import Chunk
from bot.knowledge.loaders import SourceDocument

# metadata list field -> flag prefix
FLAGS = {
    "countries": "c_",
    "topics": "t_",
    "instruments": "i_",
    "sectors": "s_",
    "company_sizes": "z_",
}
NO_COUNTRY_FLAG = "c_ANY"  # general content, relevant in every country


class EmbeddingModelMismatch(RuntimeError):
    pass


def open_client(settings: Settings) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_mode == "http":
        return chromadb.HttpClient(
            host=settings.chroma_host,
            port=settings.chroma_port,
            ssl=settings.chroma_ssl,
            settings=chroma_settings,
        )
    path = settings.chroma_path
    assert path is not None  # Settings fills it in (<data_dir>/chroma)
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def chunk_metadata(doc: SourceDocument, chunk: Chunk, root: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "source_id": doc.id,
        "title": doc.title,
        "kind": doc.kind,
        "section": chunk.section,
        "chunk_index": chunk.index,
        "language": doc.language,
        "url": doc.url or "",
        "provider": doc.provider or "",
        "last_verified": doc.last_verified.isoformat() if doc.last_verified else "",
        "regions": ",".join(doc.regions),
        "path": doc.path,
        "root": root,
        "doc_hash": doc.content_hash,
        "passage": chunk.passage,
    }
    for field, prefix in FLAGS.items():
        values = getattr(doc, field)
        meta[field] = ",".join(values)
        for value in values:
            meta[prefix + value] = True
    if not doc.countries:
        meta[NO_COUNTRY_FLAG] = True
    return meta


def split_list(meta: dict[str, Any], field: str) -> list[str]:
    value = meta.get(field) or ""
    return [v for v in value.split(",") if v]


class KnowledgeIndex:
    """Thin wrapper over one Chroma collection; embeddings are computed by us, in batches."""

    def __init__(self, settings: Settings, embeddings, client: chromadb.ClientAPI | None = None):
        self.settings = settings
        self.embeddings = embeddings
        self.model_name = embeddings.model_name
        self.client = client or open_client(settings)
        self.collection = self.client.get_or_create_collection(
            settings.collection,
            metadata={"embedding_model": self.model_name, "hnsw:space": "cosine"},
            embedding_function=None,
        )
        built_with = (self.collection.metadata or {}).get("embedding_model")
        if built_with and built_with != self.model_name:
            raise EmbeddingModelMismatch(
                f"The index was built with the embedding model {built_with!r}, but "
                f"{self.model_name!r} is configured. Run `advisor ingest --rebuild` "
                "to re-embed the knowledge base with the configured model."
            )

    def count(self) -> int:
        return self.collection.count()

    def existing(self) -> dict[str, dict[str, Any]]:
        """id -> metadata of every stored chunk (no documents, no vectors)."""
        got = self.collection.get(include=["metadatas"])
        return dict(zip(got["ids"], _dicts(got["metadatas"]), strict=True))

    @property
    def stored_dir(self) -> Path:
        """Where the retriever keeps its files for this collection (bot/knowledge/stored.py)."""
        return self.settings.data_dir / "retrieval" / self.settings.collection

    def ids(self) -> list[str]:
        """Every chunk id, in Chroma's order (the order `all_chunks` and `page` read them in)."""
        ids: list[str] = []
        total, page = self.count(), 50_000
        for offset in range(0, total, page):
            ids += self.collection.get(include=[], limit=page, offset=offset)["ids"]
        return ids

    def page(self, offset: int, limit: int) -> tuple[list[str], list[str], list[dict[str, Any]], np.ndarray]:
        """One page of (ids, documents, metadatas, vectors) in Chroma's order."""
        got = self.collection.get(include=["documents", "metadatas", "embeddings"], limit=limit, offset=offset)
        return got["ids"], got["documents"] or [], _dicts(got["metadatas"]), np.asarray(got["embeddings"], np.float32)

    def all_chunks(
        self, with_vectors: bool = False
    ) -> tuple[list[str], list[str], list[dict[str, Any]], np.ndarray | None]:
        """(ids, documents, metadatas, vectors or None), read in pages to bound memory spikes."""
        include: Include = ["documents", "metadatas", "embeddings"] if with_vectors else ["documents", "metadatas"]
        ids: list[str] = []
        docs: list[str] = []
        metas: list[dict[str, Any]] = []
        vecs: list[np.ndarray] = []
        total, page = self.count(), 10000
        for offset in range(0, total, page):
            got = self.collection.get(include=include, limit=page, offset=offset)
            ids += got["ids"]
            docs += got["documents"] or []
            metas += _dicts(got["metadatas"])
            if with_vectors:
                vecs.append(np.asarray(got["embeddings"], dtype=np.float32))
        vectors = np.concatenate(vecs) if vecs else None
        return ids, docs, metas, vectors

    def add(
        self, chunks: list[Chunk], metadatas: list[dict[str, Any]], vectors: Sequence[Sequence[float]] | None = None
    ) -> None:
        """Store chunks, embedding them unless their vectors are given (from the vector cache)."""
        texts = [c.text for c in chunks]
        if vectors is None:
            vectors = self.embeddings.embed_documents(texts)
        embeddings: list[PyEmbedding] = list(vectors)
        metas: list[Metadata] = list(metadatas)
        # Marked before and after: a version built meanwhile is not taken for the new content.
        stored.record_write(self.stored_dir)
        self.collection.upsert(ids=[c.id for c in chunks], documents=texts, metadatas=metas, embeddings=embeddings)
        stored.record_write(self.stored_dir)

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if not ids:
            return
        stored.record_write(self.stored_dir)
        for start in range(0, len(ids), 5000):
            self.collection.delete(ids=ids[start : start + 5000])
        stored.record_write(self.stored_dir)

    def dense(self, query_vector: list[float], n: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first."""
        n = min(n, max(self.count(), 1))
        query: list[PyEmbedding] = [query_vector]
        res = self.collection.query(query_embeddings=query, n_results=n, where=where, include=["distances"])
        distances = res["distances"]
        assert distances is not None  # included above
        return [(i, 1.0 - d) for i, d in zip(res["ids"][0], distances[0], strict=True)]

    def drop(self) -> None:
        """Delete the collection (for `--rebuild`)."""
        self.client.delete_collection(self.settings.collection)
        stored.record_write(self.stored_dir)


def _dicts(metadatas: list[Metadata] | None) -> list[dict[str, Any]]:
    """Chroma's metadatas (always asked for, so never None): plain dicts, which its stubs type as Mappings."""
    return cast(list[dict[str, Any]], metadatas or [])
