"""Hybrid retrieval: dense (Chroma) + BM25 (bm25s), fused by reciprocal rank.

Dense search finds paraphrases and other languages; BM25 finds exact names ("MIA/Vamil",
"LIFE"). Both honour the same metadata filters, and soft boosts (the user's country, sector,
size) reorder the fused list without hiding anything.
"""

from __future__ import annotations

import re
from typing import Any

import bm25s
import numpy as np
from pydantic import BaseModel, Field

from bot.knowledge.index import FLAGS, NO_COUNTRY_FLAG, KnowledgeIndex, split_list
from bot.knowledge.schema import Kind

RRF_K = 60
TOKEN = r"(?u)\b\w\w+\b"


class Filters(BaseModel):
    """Hard filters. A country matches its own schemes, EU-wide ones and general content."""

    country: str | None = None
    kinds: list[Kind] = Field(default_factory=list)
    instruments: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    source_ids: list[str] = Field(default_factory=list)

    def _clauses(self) -> list[dict[str, Any]]:
        clauses: list[dict[str, Any]] = []
        if self.country:
            cc = self.country.upper()
            clauses.append({"$or": [{f"c_{cc}": True}, {"c_EU": True}, {NO_COUNTRY_FLAG: True}]})
        if self.kinds:
            clauses.append({"kind": {"$in": list(self.kinds)}})
        if self.instruments:
            clauses.append(_any_flag(FLAGS["instruments"], self.instruments))
        if self.topics:
            clauses.append(_any_flag(FLAGS["topics"], self.topics))
        if self.source_ids:
            clauses.append({"source_id": {"$in": list(self.source_ids)}})
        return clauses

    def to_where(self) -> dict[str, Any] | None:
        clauses = self._clauses()
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def matches(self, meta: dict[str, Any]) -> bool:
        """The same predicate as `to_where`, evaluated in Python (for BM25)."""
        if self.country:
            cc = self.country.upper()
            if not (meta.get(f"c_{cc}") or meta.get("c_EU") or meta.get(NO_COUNTRY_FLAG)):
                return False
        if self.kinds and meta.get("kind") not in self.kinds:
            return False
        if self.instruments and not any(meta.get(FLAGS["instruments"] + i) for i in self.instruments):
            return False
        if self.topics and not any(meta.get(FLAGS["topics"] + t) for t in self.topics):
            return False
        if self.source_ids and meta.get("source_id") not in self.source_ids:
            return False
        return True


def _any_flag(prefix: str, values: list[str]) -> dict[str, Any]:
    flags = [{prefix + v: True} for v in values]
    return flags[0] if len(flags) == 1 else {"$or": flags}


class Boosts(BaseModel):
    """Soft preferences from the user's profile: matching chunks move up, nothing is hidden."""

    country: str | None = None
    sector: str | None = None
    company_size: str | None = None
    kinds: list[Kind] = Field(default_factory=list)
    weight: float = 0.25  # fraction of the top RRF score added per matching preference

    def factor(self, meta: dict[str, Any]) -> float:
        hits: float = 0
        if self.country and (meta.get(f"c_{self.country.upper()}") and not meta.get("c_EU")):
            hits += 1
        if self.sector and meta.get(FLAGS["sectors"] + self.sector):
            hits += 1
        if self.company_size and meta.get(FLAGS["company_sizes"] + self.company_size):
            hits += 0.5
        if self.kinds and meta.get("kind") in self.kinds:
            hits += 1
        return hits * self.weight


class Passage(BaseModel):
    chunk_id: str
    source_id: str
    title: str
    kind: Kind
    section: str = ""
    text: str
    passage: str
    url: str | None = None
    provider: str | None = None
    last_verified: str | None = None
    countries: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    instruments: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    language: str = "en"
    score: float
    dense_similarity: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None

    @classmethod
    def from_meta(cls, chunk_id: str, text: str, meta: dict[str, Any], **scores) -> Passage:
        return cls(
            chunk_id=chunk_id,
            source_id=meta["source_id"],
            title=meta["title"],
            kind=meta["kind"],
            section=meta.get("section", ""),
            text=text,
            passage=meta.get("passage") or text,
            url=meta.get("url") or None,
            provider=meta.get("provider") or None,
            last_verified=meta.get("last_verified") or None,
            countries=split_list(meta, "countries"),
            regions=split_list(meta, "regions"),
            instruments=split_list(meta, "instruments"),
            topics=split_list(meta, "topics"),
            language=meta.get("language", "en"),
            **scores,
        )


def _stemmer():
    try:
        import Stemmer

        return Stemmer.Stemmer("english").stemWords
    except ImportError:  # PyStemmer is optional; BM25 still works unstemmed
        return None


class Snapshot:
    """One version of the index, never changed once built: a search reads one snapshot from
    start to end, so a reload in the middle of it (an FAQ removed by /forget) cannot mix the
    positions of two versions."""

    def __init__(self, ids: list[str], docs: list[str], metas: list[dict[str, Any]], vectors, bm25) -> None:
        self.ids, self.docs, self.metas, self.vectors, self.bm25 = ids, docs, metas, vectors, bm25
        self.position = {cid: i for i, cid in enumerate(ids)}
        self.countries_with_schemes = {
            c for m in metas if m.get("kind") == "funding" for c in split_list(m, "countries")
        } - {"EU"}
        self._masks: dict[str, np.ndarray] = {}  # a cache of what is derived from this version only
        self._item_texts: dict[str, str] | None = None

    @property
    def item_texts(self) -> dict[str, str]:
        if self._item_texts is None:
            joined: dict[str, list[str]] = {}
            for text, meta in zip(self.docs, self.metas, strict=True):
                joined.setdefault(meta["source_id"], []).append(text)
            self._item_texts = {sid: "\n".join(parts) for sid, parts in joined.items()}
        return self._item_texts

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Boolean mask of the chunks `filters` keeps (None = all); cached per distinct filter."""
        if filters.to_where() is None:
            return None
        key = filters.model_dump_json()
        cached = self._masks.get(key)
        if cached is None:
            cached = np.fromiter((filters.matches(m) for m in self.metas), bool, len(self.metas))
            if len(self._masks) > 256:
                self._masks.clear()
            self._masks[key] = cached
        return cached


class HybridRetriever:
    """Load once per process; thread-safe to query.

    Chroma is the store of record (embedded or a shared server). Up to `exact_max` chunks the
    retriever also keeps the vectors in memory and searches them exactly with one matrix
    product: with metadata filters this is ~10x faster than Chroma's filtered HNSW search and
    applies the very same filter mask as BM25. Larger indexes use Chroma's ANN search.
    """

    def __init__(self, index: KnowledgeIndex, exact_max: int = 200_000):
        self.index = index
        self.exact_max = exact_max
        self._stem = _stemmer()
        self.reload()

    def reload(self) -> None:
        """Build the next snapshot aside, then swap it in with one assignment."""
        exact = self.index.count() <= self.exact_max
        ids, docs, metas, vectors = self.index.all_chunks(with_vectors=exact)
        if vectors is not None and len(vectors):
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        bm25 = bm25s.BM25()
        if ids:
            tokens = bm25s.tokenize(docs, token_pattern=TOKEN, stopwords="en", stemmer=self._stem, show_progress=False)
            bm25.index(tokens, show_progress=False)
        self.snapshot = Snapshot(ids, docs, metas, vectors, bm25)

    # What callers read about the current version (each read is of one snapshot).
    @property
    def ids(self) -> list[str]:
        return self.snapshot.ids

    @property
    def docs(self) -> list[str]:
        return self.snapshot.docs

    @property
    def metas(self) -> list[dict[str, Any]]:
        return self.snapshot.metas

    @property
    def vectors(self):
        return self.snapshot.vectors

    @property
    def position(self) -> dict[str, int]:
        return self.snapshot.position

    @property
    def countries_with_schemes(self) -> set[str]:
        return self.snapshot.countries_with_schemes

    @property
    def item_texts(self) -> dict[str, str]:
        """Every item's chunks joined, by source id."""
        return self.snapshot.item_texts

    def mask(self, filters: Filters) -> np.ndarray | None:
        return self.snapshot.mask(filters)

    def __len__(self) -> int:
        return len(self.snapshot.ids)

    def _dense(self, snap: Snapshot, vector: list[float], n: int, filters: Filters) -> list[tuple[str, float]]:
        if snap.vectors is None:
            return self.index.dense(vector, n, filters.to_where())
        scores = snap.vectors @ np.asarray(vector, dtype=np.float32)
        mask = snap.mask(filters)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top])]
        return [(snap.ids[i], float(scores[i])) for i in top if np.isfinite(scores[i])]

    def _bm25(self, snap: Snapshot, query: str, n: int, filters: Filters) -> list[str]:
        if not snap.ids:
            return []
        tokens = bm25s.tokenize(
            [query],
            token_pattern=TOKEN,
            stopwords="en",
            stemmer=self._stem,
            show_progress=False,
            return_ids=False,
        )[0]
        if not tokens:
            return []
        scores = snap.bm25.get_scores(tokens)
        mask = snap.mask(filters)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top])]
        return [snap.ids[i] for i in top if scores[i] > 0]

    def search(
        self,
        query: str,
        k: int = 5,
        filters: Filters | None = None,
        boosts: Boosts | None = None,
        candidates: int = 30,
        max_per_source: int = 1,
        query_vector: list[float] | None = None,
        sparse_weight: float = 1.0,
    ) -> list[Passage]:
        snap = self.snapshot  # this search's version, whatever a reload does meanwhile
        filters = filters or Filters()
        if not query.strip() or not snap.ids:
            return []
        if query_vector is None:
            query_vector = self.index.embeddings.embed_query(query)
        dense = self._dense(snap, query_vector, candidates, filters)
        sparse = self._bm25(snap, _clean(query), candidates, filters)
        return self.fuse(dense, sparse, k, boosts, max_per_source, sparse_weight, snap=snap)

    def fuse(
        self,
        dense: list[tuple[str, float]],
        sparse: list[str],
        k: int,
        boosts: Boosts | None = None,
        max_per_source: int = 1,
        sparse_weight: float = 1.0,
        snap: Snapshot | None = None,
    ) -> list[Passage]:
        """Reciprocal-rank fusion; `sparse_weight` < 1 trusts BM25 less (e.g. for queries in a
        language other than the corpus's)."""
        snap = snap or self.snapshot
        scores: dict[str, float] = {}
        dense_rank = {cid: r for r, (cid, _) in enumerate(dense, 1)}
        similarity = dict(dense)
        bm25_rank = {cid: r for r, cid in enumerate(sparse, 1)}
        for cid, r in dense_rank.items():
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (RRF_K + r)
        for cid, r in bm25_rank.items():
            scores[cid] = scores.get(cid, 0.0) + sparse_weight / (RRF_K + r)
        scores = {cid: s for cid, s in scores.items() if cid in snap.position}
        if boosts and scores:
            top = max(scores.values())
            for cid in scores:
                scores[cid] += top * boosts.factor(snap.metas[snap.position[cid]])
        ranked = sorted(scores, key=scores.__getitem__, reverse=True)
        out: list[Passage] = []
        per_source: dict[str, int] = {}
        for cid in ranked:
            i = snap.position[cid]
            meta = snap.metas[i]
            src = meta["source_id"]
            if per_source.get(src, 0) >= max_per_source:
                continue
            per_source[src] = per_source.get(src, 0) + 1
            out.append(
                Passage.from_meta(
                    cid,
                    snap.docs[i],
                    meta,
                    score=scores[cid],
                    dense_similarity=similarity.get(cid),
                    dense_rank=dense_rank.get(cid),
                    bm25_rank=bm25_rank.get(cid),
                )
            )
            if len(out) == k:
                break
        return out


def _clean(query: str) -> str:
    return re.sub(r"\s+", " ", query)[:2000]
