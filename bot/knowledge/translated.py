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
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
import stopwordsiso

from bot.knowledge.translations import STEMMERS, load_module_translations, load_translations, summaries, whole_texts
from bot.knowledge.vector_cache import DATA, QuerySet, VectorCache, model_id, register_query_set

log = logging.getLogger(__name__)

TOKEN = r"(?u)\b\w\w+\b"

MANIFEST = DATA / "translation_vectors.json"
VECTORS = DATA / "translation_vectors.npy"


def shipped_summaries() -> list[str]:
    """Every translated title and summary of the shipped knowledge, as it is embedded."""
    from bot.config import resource_dir

    by_language = summaries(load_translations(resource_dir("knowledge")))
    return [text for items in by_language.values() for text in items.values()]


register_query_set(QuerySet("translated summaries", shipped_summaries, MANIFEST, VECTORS, role="passage"))


@lru_cache(maxsize=16)
def _language_tools(language: str) -> tuple[list[str] | None, Callable[[list[str]], list[str]] | None]:
    """A language's stop words and stemmer, made once (every question is tokenized with them)."""
    stopwords = sorted(stopwordsiso.stopwords(language)) if stopwordsiso.has_lang(language) else None
    name = STEMMERS.get(language)
    return stopwords, (Stemmer.Stemmer(name).stemWords if name else None)


class TranslatedSummaries:
    """Per language, every item's translated summary as a unit vector; thread-safe to query."""

    def __init__(
        self,
        texts: dict[str, dict[str, str]],
        embeddings,
        use_shipped: bool = True,
        whole: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self.texts = texts  # {language: {source id: title and summary}}
        self.whole = whole or {}  # {language: {source id: all its translated text}}, searched by words
        self.embeddings = embeddings
        self.use_shipped = use_shipped
        self._vectors: dict[str, tuple[list[str], np.ndarray]] = {}
        self._bm25: dict[str, tuple[list[str], bm25s.BM25]] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, knowledge_dir: Path, embeddings, use_shipped: bool = True) -> TranslatedSummaries:
        files = load_translations(knowledge_dir)  # none: {}
        texts = summaries(files)
        whole = whole_texts(files, load_module_translations(knowledge_dir))
        searched = {
            lang: {sid: f"{text}\n{whole.get(lang, {}).get(sid, '')}" for sid, text in items.items()}
            for lang, items in summaries(files, full=True).items()
        }
        for lang, items in whole.items():
            for sid, text in items.items():
                searched.setdefault(lang, {}).setdefault(sid, text)
        return cls(texts, embeddings, use_shipped, searched)

    def ranked_by_words(self, language: str, question: str, n: int = 10) -> list[str]:
        """Source ids whose text in `language` shares the question's rarer words, best first."""
        if language not in self.whole:
            return []
        ids, index = self._words(language)
        tokens = self._tokenize(language, [question], return_ids=False)[0]
        if not ids or not tokens:
            return []
        scores = index.get_scores(tokens)
        top = [i for i in np.argsort(-scores)[:n] if scores[i] > 0]
        return [ids[i] for i in top]

    def _words(self, language: str) -> tuple[list[str], bm25s.BM25]:
        with self._lock:
            if language not in self._bm25:
                ids, texts = list(self.whole[language]), list(self.whole[language].values())
                index = bm25s.BM25()
                if texts:
                    index.index(self._tokenize(language, texts), show_progress=False)
                self._bm25[language] = (ids, index)
            return self._bm25[language]

    @staticmethod
    def _tokenize(language: str, texts: list[str], return_ids: bool = True):
        stopwords, stemmer = _language_tools(language)
        return bm25s.tokenize(
            texts, token_pattern=TOKEN, stopwords=stopwords, stemmer=stemmer, show_progress=False, return_ids=return_ids
        )

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
