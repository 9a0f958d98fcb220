"""Hybrid retrieval: dense (Chroma) + BM25 (bm25s), fused by reciprocal rank.

Dense search finds paraphrases and other languages; BM25 finds exact names ("MIA/Vamil",
"LIFE"). Both honour the same metadata filters, and soft boosts (the user's country, sector,
size) reorder the fused list without hiding anything.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Sequence
from typing import Any

import bm25s
import numpy as np
from pydantic import BaseModel, Field

from bot.knowledge import stored
from bot.knowledge.index import FLAGS, NO_COUNTRY_FLAG, KnowledgeIndex, split_list
from bot.knowledge.schema import Kind
from bot.knowledge.translated import TranslatedSummaries

log = logging.getLogger(__name__)

RRF_K = 60
# Each ranking through the translations (by summary, by words) counts as much as the dense one:
# on the dev split's non-English questions the summaries lift recall@5 from 0.82 to 0.97, the
# words MRR from 0.84 to 0.855 (weight 0.5 scored the same). Not used for English questions.
TRANSLATED_WEIGHT = 1.0
TRANSLATED_CANDIDATES = 10
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

    def column_mask(self, columns: stored.Columns) -> np.ndarray:
        """The same predicate as `matches`, over a stored version's columns (every chunk at once)."""
        keep = np.ones(columns.rows, bool)
        if self.country:
            keep &= columns.any_flag([f"c_{self.country.upper()}", "c_EU", NO_COUNTRY_FLAG])
        if self.kinds:
            keep &= columns.kind_in(self.kinds)
        if self.instruments:
            keep &= columns.any_flag([FLAGS["instruments"] + i for i in self.instruments])
        if self.topics:
            keep &= columns.any_flag([FLAGS["topics"] + t for t in self.topics])
        if self.source_ids:
            keep &= columns.source_in(self.source_ids)
        return keep


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
    country_weight: float | None = None  # the country's own, where it should count more (default: weight)
    country_skips: list[Kind] = Field(default_factory=list)  # kinds whose country is no preference here
    topic: str | None = None  # a subject the question asks about in words the content does not use
    topic_weight: float = 0.3

    def factor(self, meta: dict[str, Any]) -> float:
        hits: float = 0
        if self.sector and meta.get(FLAGS["sectors"] + self.sector):
            hits += 1
        if self.company_size and meta.get(FLAGS["company_sizes"] + self.company_size):
            hits += 0.5
        if self.kinds and meta.get("kind") in self.kinds:
            hits += 1
        own = 0.0
        if (
            self.country
            and meta.get(f"c_{self.country.upper()}")
            and not meta.get("c_EU")
            and meta.get("kind") not in self.country_skips
        ):
            own = self.country_weight if self.country_weight is not None else self.weight
        about = self.topic_weight if self.topic and meta.get(FLAGS["topics"] + self.topic) else 0.0
        return hits * self.weight + own + about


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

    def ranked_by_both(self, rank: int) -> bool:
        """Do dense and keyword search both rank the passage this high?"""
        return max(self.dense_rank or rank + 1, self.bm25_rank or rank + 1) <= rank

    def ranked_by_either(self, rank: int) -> bool:
        """Does dense or keyword search rank the passage this high?"""
        return min(self.dense_rank or rank + 1, self.bm25_rank or rank + 1) <= rank

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
    positions of two versions.

    This one holds every chunk in memory, read from the index; `StoredSnapshot` reads the same
    from files written once per version of the index."""

    def __init__(
        self,
        ids: list[str],
        docs: Sequence[str],
        metas: Sequence[dict[str, Any]],
        vectors: np.ndarray | None,
        bm25,
    ) -> None:
        self.ids, self.docs, self.metas, self.vectors, self.bm25 = ids, docs, metas, vectors, bm25
        self.position = {cid: i for i, cid in enumerate(ids)}
        self.countries_with_schemes = {
            c for m in metas if m.get("kind") == "funding" for c in split_list(m, "countries")
        } - {"EU"}
        self._masks: dict[str, np.ndarray] = {}  # a cache of what is derived from this version only
        self._item_texts: dict[str, str] | None = None
        self._first: dict[str, int] | None = None

    def doc(self, i: int) -> str:
        return self.docs[i]

    def meta(self, i: int) -> dict[str, Any]:
        return self.metas[i]

    @property
    def item_texts(self) -> dict[str, str]:
        if self._item_texts is None:
            joined: dict[str, list[str]] = {}
            for text, meta in zip(self.docs, self.metas, strict=True):
                joined.setdefault(meta["source_id"], []).append(text)
            self._item_texts = {sid: "\n".join(parts) for sid, parts in joined.items()}
        return self._item_texts

    def metas_of(self, source_id: str) -> list[dict[str, Any]]:
        """The metadata of one source's chunks, in index order."""
        return [m for m in self.metas if m.get("source_id") == source_id]

    def first_chunk(self, source_id: str) -> int | None:
        """The position of a source's opening chunk (its title and summary)."""
        if self._first is None:
            first: dict[str, int] = {}
            for i, m in enumerate(self.metas):
                known = first.get(m["source_id"])
                if known is None or _chunk_index(m) < _chunk_index(self.metas[known]):
                    first[m["source_id"]] = i
            self._first = first
        return self._first.get(source_id)

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Boolean mask of the chunks `filters` keeps (None = all); cached per distinct filter."""
        if filters.to_where() is None:
            return None
        key = filters.model_dump_json()
        cached = self._masks.get(key)
        if cached is None:
            cached = self._mask(filters)
            if len(self._masks) > 256:
                self._masks.clear()
            self._masks[key] = cached
        return cached

    def _mask(self, filters: Filters) -> np.ndarray:
        return np.fromiter((filters.matches(m) for m in self.metas), bool, len(self.metas))

    @property
    def exact(self) -> bool:
        """Whether dense search runs here (else in Chroma, over its ANN index)."""
        return self.vectors is not None

    def dense(self, query: np.ndarray, n: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        """(position, cosine similarity) of the n best chunks `mask` keeps, best first."""
        assert self.vectors is not None
        scores = self.vectors @ query
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        n = min(n, len(scores))
        kth = scores[np.argpartition(-scores, n - 1)[n - 1]]
        # Ties at the cut go to the earlier chunk: which of them a partition keeps differs by CPU.
        better = np.flatnonzero(scores > kth)
        top = np.concatenate([better, np.flatnonzero(scores == kth)[: n - len(better)]])
        top = top[np.lexsort((top, -scores[top]))]
        return [(int(i), float(scores[i])) for i in top if np.isfinite(scores[i])]


class StoredSnapshot(Snapshot):
    """A version read from its files (bot/knowledge/stored.py), not held as Python objects: the
    int8 vectors and BM25 are memory-mapped, a text, a metadata row or a float32 vector is read
    from its file when needed (`docs` and `metas` decode each row as it is read)."""

    def __init__(self, ids: list[str], version: stored.StoredVersion, exact: bool) -> None:
        self.version = version
        self.ids, self.docs, self.metas, self.bm25 = ids, version.docs, version.metas, version.bm25
        self._dense = version.vectors if exact else None
        self.vectors = self._dense.full if self._dense is not None else None
        self.position = {cid: i for i, cid in enumerate(ids)}
        self.countries_with_schemes = set(version.columns.countries_with_schemes)
        self._masks = {}
        self._item_texts = None
        self._first = None

    def doc(self, i: int) -> str:
        return self.version.docs.text(i)

    def meta(self, i: int) -> dict[str, Any]:
        return self.version.metas[i]

    @property
    def item_texts(self) -> dict[str, str]:
        if self._item_texts is None:
            columns = self.version.columns
            joined: dict[str, list[str]] = {}
            for code, text in zip(columns.source.tolist(), self.docs, strict=True):
                if code < 0:
                    raise KeyError("source_id")  # as reading it from the chunk's metadata would
                joined.setdefault(columns.sources[code], []).append(text)
            self._item_texts = {sid: "\n".join(parts) for sid, parts in joined.items()}
        return self._item_texts

    def _mask(self, filters: Filters) -> np.ndarray:
        return filters.column_mask(self.version.columns)

    def metas_of(self, source_id: str) -> list[dict[str, Any]]:
        return [self.meta(i) for i in self.version.columns.rows_of_source(source_id)]

    def first_chunk(self, source_id: str) -> int | None:
        # Per source, on demand: only that source's chunks' metadata is decoded.
        if self._first is None:
            self._first = {}
        if source_id not in self._first:
            rows = self.version.columns.rows_of_source(source_id)
            self._first[source_id] = min(rows, key=lambda i: _chunk_index(self.meta(i))) if rows else -1
        found = self._first[source_id]
        return None if found < 0 else found

    def dense(self, query: np.ndarray, n: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        assert self._dense is not None
        return self._dense.top(query, n, mask)


class HybridRetriever:
    """Load once per process; thread-safe to query.

    Chroma is the store of record (embedded or a shared server). Up to `exact_max` chunks the
    retriever also searches the vectors itself, exactly: with metadata filters this is ~10x
    faster than Chroma's filtered HNSW search and applies the very same filter mask as BM25.
    Larger indexes use Chroma's ANN search.

    What a search reads (vectors, the BM25 index, texts, metadata) is written once per version
    of the index under `<data_dir>/retrieval/`; every later open maps or reads it from there and
    reads only the chunk ids from Chroma (bot/knowledge/stored.py). With `persist=False`, or an
    index that cannot be stored there, each open reads every chunk into memory instead.
    """

    def __init__(
        self,
        index: KnowledgeIndex,
        exact_max: int = 200_000,
        persist: bool = True,
        translated: TranslatedSummaries | None = None,
    ):
        self.index = index
        self.translated = translated
        self.exact_max = exact_max
        self.persist = persist
        self._stem = _stemmer()
        self.reload()

    def reload(self) -> None:
        """Build the next snapshot aside, then swap it in with one assignment."""
        exact = self.index.count() <= self.exact_max
        snapshot: Snapshot | None = self._stored(exact) if self.persist else None
        if snapshot is None:
            ids, docs, metas, vectors = self.index.all_chunks(with_vectors=exact)
            if vectors is not None and len(vectors):
                vectors = stored.normalise(vectors)
            bm25 = bm25s.BM25()
            if ids:
                bm25.index(self._tokenize(docs), show_progress=False)
            snapshot = Snapshot(ids, docs, metas, vectors, bm25)
        self.snapshot = snapshot

    def _tokenize(self, docs: list[str]):
        return bm25s.tokenize(docs, token_pattern=TOKEN, stopwords="en", stemmer=self._stem, show_progress=False)

    def _stored(self, exact: bool) -> StoredSnapshot | None:
        """The current version of the index from its files, built first if they are missing,
        stale or unreadable; None where the index cannot be stored (then it is read into memory)."""
        root: Any = getattr(self.index, "stored_dir", None)
        if root is None or not hasattr(os, "pread"):  # an index that cannot be stored; Windows
            return None
        try:
            token = stored.generation(root)  # read before the ids: a write after them changes it
            ids = self.index.ids()
            if not ids:
                return None
            key = stored.fingerprint(self.index.model_name, ids)
            try:
                version = stored.StoredVersion(stored.version_dir(root, key), key, token, len(ids))
                return StoredSnapshot(ids, version, exact)
            except stored.CorruptVersion as exc:
                if stored.version_dir(root, key).exists():
                    level = logging.INFO if isinstance(exc, stored.StaleVersion) else logging.WARNING
                    log.log(level, "rebuilding the retriever's files for %s: %s", root, exc)
                    stored.discard(stored.version_dir(root, key))
            started = time.perf_counter()
            built, ids = stored.build(self.index, root, token, self._tokenize)
            log.info("wrote the retriever's files for %d chunks in %.1f s", len(ids), time.perf_counter() - started)
            version = stored.StoredVersion(stored.version_dir(root, built), built, token, len(ids))
            snapshot = StoredSnapshot(ids, version, exact)
            stored.prune(root, keep=stored.version_dir(root, built).name)
            stored.release_memory()
            return snapshot
        except Exception as exc:  # a full or read-only disk: answer from memory, as before
            log.warning("reading the index into memory: its files under %s are unusable (%s)", root, exc)
            return None

    # What callers read about the current version (each read is of one snapshot).
    @property
    def ids(self) -> list[str]:
        return self.snapshot.ids

    @property
    def docs(self) -> Sequence[str]:
        """Every chunk's text, by position (a stored snapshot decodes each one when read)."""
        return self.snapshot.docs

    @property
    def metas(self) -> Sequence[dict[str, Any]]:
        """Every chunk's metadata, by position (a stored snapshot decodes each one when read)."""
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

    def metas_of(self, source_id: str) -> list[dict[str, Any]]:
        """One source's chunks' metadata (reads only those: `metas` would decode every chunk's)."""
        return self.snapshot.metas_of(source_id)

    def __len__(self) -> int:
        return len(self.snapshot.ids)

    def _dense(self, snap: Snapshot, vector: list[float], n: int, filters: Filters) -> list[tuple[str, float]]:
        if not snap.exact:
            return self.index.dense(vector, n, filters.to_where())
        top = snap.dense(np.asarray(vector, dtype=np.float32), n, snap.mask(filters))
        return [(snap.ids[i], score) for i, score in top]

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
        language: str = "en",
    ) -> list[Passage]:
        """`language` is the question's: for one we have translated summaries in, they are
        searched too (see bot/knowledge/translated.py)."""
        snap = self.snapshot  # this search's version, whatever a reload does meanwhile
        filters = filters or Filters()
        if not query.strip() or not snap.ids:
            return []
        if query_vector is None:
            query_vector = self.index.embeddings.embed_query(query)
        dense = self._dense(snap, query_vector, candidates, filters)
        sparse = self._bm25(snap, _clean(query), candidates, filters)
        translated = self._translated(snap, language, query, query_vector, filters)
        return self.fuse(dense, sparse, k, boosts, max_per_source, sparse_weight, snap=snap, translated=translated)

    def _translated(
        self, snap: Snapshot, language: str, query: str, vector: list[float], filters: Filters
    ) -> list[list[str]]:
        """Two rankings of the items `filters` keeps, each item standing as its first chunk: by
        how close their translated summary is to the question, and by the words their text in the
        question's language shares with it."""
        if self.translated is None or language == "en" or language not in self.translated.languages:
            return []
        mask = snap.mask(filters)
        rankings = [
            self.translated.ranked(language, vector, TRANSLATED_CANDIDATES),
            self.translated.ranked_by_words(language, _clean(query), TRANSLATED_CANDIDATES),
        ]
        out = []
        for ranking in rankings:
            firsts = [snap.first_chunk(source_id) for source_id in ranking]
            out.append([snap.ids[i] for i in firsts if i is not None and (mask is None or mask[i])])
        return out

    def fuse(
        self,
        dense: list[tuple[str, float]],
        sparse: list[str],
        k: int,
        boosts: Boosts | None = None,
        max_per_source: int = 1,
        sparse_weight: float = 1.0,
        snap: Snapshot | None = None,
        translated: list[list[str]] | None = None,
    ) -> list[Passage]:
        """Reciprocal-rank fusion; `sparse_weight` < 1 trusts BM25 less (e.g. for queries in a
        language other than the corpus's). `translated` ranks items by their translated summary,
        each given by its first chunk: the rank goes to that item's best chunk already found."""
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
        metas: dict[str, dict[str, Any]] = {}  # read once per fusion (a stored snapshot decodes them)

        def meta_of(cid: str) -> dict[str, Any]:
            if cid not in metas:
                metas[cid] = snap.meta(snap.position[cid])
            return metas[cid]

        if translated:
            best: dict[str, str] = {}  # source id -> its best-scored chunk so far
            for cid in sorted(scores, key=scores.__getitem__, reverse=True):
                best.setdefault(meta_of(cid)["source_id"], cid)
            for ranking in translated:
                for r, first in enumerate(ranking, 1):
                    if first not in snap.position:
                        continue
                    cid = best.get(meta_of(first)["source_id"], first)
                    scores[cid] = scores.get(cid, 0.0) + TRANSLATED_WEIGHT / (RRF_K + r)

        if boosts and scores:
            top = max(scores.values())
            for cid in scores:
                scores[cid] += top * boosts.factor(meta_of(cid))
        ranked = sorted(scores, key=scores.__getitem__, reverse=True)
        out: list[Passage] = []
        per_source: dict[str, int] = {}
        for cid in ranked:
            i = snap.position[cid]
            meta = meta_of(cid)
            src = meta["source_id"]
            if per_source.get(src, 0) >= max_per_source:
                continue
            per_source[src] = per_source.get(src, 0) + 1
            out.append(
                Passage.from_meta(
                    cid,
                    snap.doc(i),
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


def _chunk_index(meta: dict[str, Any]) -> int:
    return int(meta.get("chunk_index") or 0)


def _clean(query: str) -> str:
    return re.sub(r"\s+", " ", query)[:2000]
