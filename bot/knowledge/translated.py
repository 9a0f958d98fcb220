"""Retrieval through the translated summaries (`knowledge/translations/`).

The content is English. A question in Swedish finds its item through the multilingual
embedding alone, which misses often enough to matter (dev split, non-English questions:
recall@5 0.82). Every item also has its title and summary written in each language we serve,
so a question is compared with those in its own language too; the items that match best are
one more ranked list in the retriever's fusion, standing for the item's English chunks. The
summaries are never quoted from here: answers are still built from the items themselves.

Their vectors ship like the chunks' (`translation_vectors.*`, refreshed by `advisor content
vectors`); a summary the shipped file lacks (an edited translation) is embedded when its
language is first asked for.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from bot.knowledge.translations import load_translations, summaries
from bot.knowledge.vector_cache import DATA, QuerySet, VectorCache, model_id, register_query_set

log = logging.getLogger(__name__)

MANIFEST = DATA / "translation_vectors.json"
VECTORS = DATA / "translation_vectors.npy"


def shipped_summaries() -> list[str]:
    """Every translated title and summary of the shipped knowledge, as it is embedded."""
    from bot.config import resource_dir

    by_language = summaries(load_translations(resource_dir("knowledge")))
    return [text for items in by_language.values() for text in items.values()]


register_query_set(QuerySet("translated summaries", shipped_summaries, MANIFEST, VECTORS, role="passage"))


class TranslatedSummaries:
    """Per language, every item's translated summary as a unit vector; thread-safe to query."""

    def __init__(self, texts: dict[str, dict[str, str]], embeddings, use_shipped: bool = True) -> None:
        self.texts = texts  # {language: {source id: title and summary}}
        self.embeddings = embeddings
        self.use_shipped = use_shipped
        self._vectors: dict[str, tuple[list[str], np.ndarray]] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, knowledge_dir: Path, embeddings, use_shipped: bool = True) -> TranslatedSummaries:
        return cls(summaries(load_translations(knowledge_dir)), embeddings, use_shipped)  # none: {}

    @property
    def languages(self) -> set[str]:
        return set(self.texts)

    def ranked(self, language: str, query_vector: list[float], n: int = 10) -> list[str]:
        """Source ids whose summary in `language` is closest to the question, best first."""
        if language not in self.texts:
            return []
        ids, vectors = self._language(language)
        if not ids:
            return []
        scores = vectors @ np.asarray(query_vector, dtype=np.float32)
        top = np.argsort(-scores)[:n]
        return [ids[i] for i in top]

    def _language(self, language: str) -> tuple[list[str], np.ndarray]:
        with self._lock:
            if language not in self._vectors:
                self._vectors[language] = self._embed(self.texts[language])
            return self._vectors[language]

    def _embed(self, items: dict[str, str]) -> tuple[list[str], np.ndarray]:
        ids, texts = list(items), list(items.values())
        cache = VectorCache.for_model(model_id(self.embeddings), MANIFEST, VECTORS) if self.use_shipped else None
        cached = [cache.get(t) if cache else None for t in texts]
        todo = [t for t, v in zip(texts, cached, strict=True) if v is None]
        if todo:
            log.info("embedding %d translated summaries the shipped vectors lack", len(todo))
        computed = iter(self.embeddings.embed_documents(todo) if todo else [])
        rows = np.asarray([v if v is not None else next(computed) for v in cached], dtype=np.float32)
        if not len(rows):
            return [], np.zeros((0, 0), np.float32)
        rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
        return ids, rows
