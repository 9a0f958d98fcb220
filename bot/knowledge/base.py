"""The knowledge base as the rest of the app sees it: one object, built once per process."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from bot.config import Settings
from bot.knowledge import stored
from bot.knowledge.embeddings import make_embeddings
from bot.knowledge.index import KnowledgeIndex, open_client
from bot.knowledge.ingest import IngestReport, Progress, ingest
from bot.knowledge.retrieve import Boosts, Filters, HybridRetriever, Passage
from bot.knowledge.translated import TranslatedSummaries
from bot.knowledge.vector_cache import VectorCache, model_id


class KnowledgeBase:
    def __init__(self, settings: Settings, index: KnowledgeIndex):
        self.settings = settings
        self.index = index
        self._retriever: HybridRetriever | None = None

    @classmethod
    def open(cls, settings: Settings, rebuild: bool = False) -> KnowledgeBase:
        client = open_client(settings)
        if rebuild:
            names = {getattr(c, "name", c) for c in client.list_collections()}
            if settings.collection in names:
                client.delete_collection(settings.collection)
                stored.record_write(settings.data_dir / "retrieval" / settings.collection)
        return cls(settings, KnowledgeIndex(settings, make_embeddings(settings), client))

    @property
    def retriever(self) -> HybridRetriever:
        if self._retriever is None:
            translated = TranslatedSummaries.load(
                self.settings.knowledge_dir, self.index.embeddings, use_shipped=self.settings.vector_cache
            )
            self._retriever = HybridRetriever(self.index, translated=translated)
        return self._retriever

    def is_empty(self) -> bool:
        return self.index.count() == 0

    def sync(
        self,
        paths: Sequence[Path] | None = None,
        progress: Progress | None = None,
        on_total: Callable[[int], None] | None = None,
    ) -> IngestReport:
        report = ingest(
            paths or [self.settings.knowledge_dir], self.index, progress, on_total, vector_cache=self._vector_cache
        )
        if report.changed and self._retriever is not None:
            self._retriever.reload()
        return report

    def _vector_cache(self) -> VectorCache | None:
        if not self.settings.vector_cache:
            return None
        return VectorCache.for_model(model_id(self.index.embeddings))

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        boosts: Boosts | None = None,
    ) -> list[Passage]:
        return self.retriever.search(
            query,
            k=k or self.settings.retrieval_k,
            filters=filters,
            boosts=boosts,
            candidates=self.settings.retrieval_candidates,
        )
