"""What the retriever keeps on disk next to the index, so that opening it reads no chunk.

Opening the retriever used to copy every chunk's vector, text and metadata out of Chroma into
Python objects and re-tokenise every text for BM25: at 100,000 chunks, ~20-45 s and 1.1-1.5 GB.
One version of the index is now written once, as files that later opens map or read from:

    <data_dir>/retrieval/<collection>/<version>/
        manifest.json         what the version is of (written last: no manifest, no version)
        vectors.i8.npy        int8 codes of the normalised vectors, one row per chunk (mapped,
        vectors.scale.npy     scanned by each dense search: vector ~ scale * codes), and a bound
        vectors.err.npy       of each row's error (|vector - scale * codes|)
        vectors.f32.npy       the normalised float32 vectors, read row by row to rescore
        bm25/                 the bm25s index (its own save/load, memory-mapped)
        docs.bin, docs.idx.npy      every chunk's text (UTF-8) and where each one starts
        metas.bin, metas.idx.npy    every chunk's metadata (JSON) and where each one starts
        flags.npy, kind.npy, source.npy, columns.json
                              what filters read: one boolean row per flag (`c_FR`, `t_lca`),
                              each chunk's kind and source as codes into columns.json's tables

A version is named by a hash of the embedding model and every chunk id in Chroma's order; its
manifest also records the token that each write made through `KnowledgeIndex` under this data
dir replaces (`generation`). An open reads the ids from Chroma (not the chunks) and uses the
version only if both agree, so an index changed by this process, another one or another replica
(a chunk added or deleted; rewritten under the same id through `KnowledgeIndex`) is never
answered from stale files. A missing, truncated or otherwise unreadable version is built again.
Files are written to a temporary folder renamed into place and never changed afterwards; a
snapshot holds its files open, so removing or replacing a version never changes what a running
search reads.

Search results are the same as with the vectors in memory: the int8 scan only selects the rows
whose exact score could reach the top n (its error is bounded per row), and those rows are
rescored from the float32 vectors.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import itertools
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, overload

import bm25s
import numpy as np

log = logging.getLogger(__name__)

FORMAT = 1
FLAG_PREFIXES = ("c_", "t_", "i_", "s_", "z_")  # index.FLAGS' prefixes (NO_COUNTRY_FLAG is c_ANY)
READ_AHEAD = 1 << 20  # bytes read at once when every text or metadata row is read in order
BLOCK = 1024  # rows per step of the int8 scan: small enough to stay in cache and off BLAS threads
PAGE = 10_000  # chunks read from Chroma per request while building
KEEP_TMP_S = 3600  # a temporary folder younger than this may be another process's build
UNIT = 2.0**-24  # float32's unit roundoff: a dot product of d terms errs by at most d*UNIT*sum|terms|

_buffers = threading.local()


class CorruptVersion(Exception):
    """A version's files are missing, truncated or disagree with its manifest."""


class StaleVersion(CorruptVersion):
    """A version's files are whole, but the index was written to after they were built."""


class ChunkSource(Protocol):
    """What building a version reads from the index (KnowledgeIndex)."""

    model_name: str

    def ids(self) -> list[str]: ...

    def page(self, offset: int, limit: int) -> tuple[list[str], list[str], list[dict[str, Any]], np.ndarray]: ...


def fingerprint(model: str, ids: Sequence[str]) -> str:
    digest = hashlib.sha256(f"{FORMAT}\n{model}\n".encode())
    for cid in ids:
        digest.update(cid.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def generation(root: Path) -> str:
    """A token that every write `KnowledgeIndex` makes to this collection under this data dir
    replaces ("" before the first)."""
    try:
        return (root / "generation").read_text().strip()
    except OSError:
        return ""


def record_write(root: Path) -> None:
    """Mark a write to the collection: every version built before it stops being valid. A new
    random token rather than a counter, so that two processes writing at once cannot both
    write the same value."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        _atomic_write(root / "generation", os.urandom(12).hex())
    except OSError as exc:  # a read-only data dir: then nothing is persisted there either
        log.debug("could not record a write under %s: %s", root, exc)


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


# --- reading ---------------------------------------------------------------------------------------


class Blob(Sequence[str]):
    """Variable-length rows (UTF-8 text) in one file: row i is bytes idx[i]:idx[i+1]. Rows are
    read with pread, not memory-mapped: a search reads a few rows, and a mapping would bring
    their neighbours into the process's memory too (the kernel maps 64 KiB around each fault)."""

    def __init__(self, data: Path, index: Path, rows: int) -> None:
        self.idx = np.load(index, mmap_mode="r")
        if self.idx.shape != (rows + 1,) or self.idx.dtype != np.int64:
            raise CorruptVersion(f"{index.name}: shape {self.idx.shape}, expected ({rows + 1},)")
        self.name = data.name
        self._fd = os.open(data, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)
        size = os.fstat(self._fd).st_size
        if size != int(self.idx[-1]) or int(self.idx[0]) != 0:
            raise CorruptVersion(f"{data.name}: {size} bytes, the index says {int(self.idx[-1])}")

    def _read(self, start: int, length: int) -> bytes:
        got = os.pread(self._fd, length, start) if length else b""
        if len(got) != length:
            raise CorruptVersion(f"{self.name}: short read")
        return got

    def text(self, i: int) -> str:
        start, end = int(self.idx[i]), int(self.idx[i + 1])
        return self._read(start, end - start).decode()

    def __len__(self) -> int:
        return len(self.idx) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self.text(j) for j in range(*i.indices(len(self)))]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(i)
        return self.text(i % n)

    def __iter__(self) -> Iterator[str]:
        """Every row in order, read in large pieces."""
        bounds = self.idx.tolist()
        piece, at = b"", 0  # `piece` holds the file's bytes from offset `at`
        for start, end in itertools.pairwise(bounds):
            if end > at + len(piece):
                at = start
                piece = self._read(start, min(max(READ_AHEAD, end - start), bounds[-1] - start))
            yield piece[start - at : end - at].decode()


class Metas(Sequence[dict[str, Any]]):
    """Each chunk's metadata, decoded from its JSON row when read (a new dict each time)."""

    def __init__(self, blob: Blob) -> None:
        self.blob = blob

    def __len__(self) -> int:
        return len(self.blob)

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, i: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(i, slice):
            return [json.loads(t) for t in self.blob[i]]
        return json.loads(self.blob[i])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (json.loads(t) for t in self.blob)


class Columns:
    """The metadata that filters read, one array per field: flags, kind, source id."""

    def __init__(self, path: Path, rows: int) -> None:
        spec = json.loads((path / "columns.json").read_text())
        self.flag_names: list[str] = spec["flags"]
        self.kinds: list[Any] = spec["kinds"]
        self.sources: list[Any] = spec["sources"]
        self.countries_with_schemes: set[str] = set(spec["countries_with_schemes"])
        self._flag_row = {name: i for i, name in enumerate(self.flag_names)}
        self.flags = _load(path / "flags.npy", (len(self.flag_names), rows), np.bool_)
        self.kind = _load(path / "kind.npy", (rows,), np.int32)
        self.source = _load(path / "source.npy", (rows,), np.int32)
        self.rows = rows

    def flag(self, name: str) -> np.ndarray:
        """Chunks whose metadata has `name` set (truthy)."""
        row = self._flag_row.get(name)
        return np.zeros(self.rows, bool) if row is None else np.asarray(self.flags[row])

    def any_flag(self, names: Sequence[str]) -> np.ndarray:
        out = np.zeros(self.rows, bool)
        for name in names:
            out |= self.flag(name)
        return out

    def kind_in(self, values: Sequence[Any]) -> np.ndarray:
        return np.isin(self.kind, [c for c, k in enumerate(self.kinds) if k in values])

    def source_in(self, values: Sequence[Any]) -> np.ndarray:
        wanted = set(values)
        return np.isin(self.source, [c for c, s in enumerate(self.sources) if s in wanted])

    def rows_of_source(self, source_id: str) -> list[int]:
        codes = [c for c, s in enumerate(self.sources) if s == source_id]
        return np.flatnonzero(np.isin(self.source, codes)).tolist() if codes else []


class DenseVectors:
    """Exact top-n by cosine similarity: an int8 scan picks the candidates, float32 decides."""

    def __init__(self, path: Path, rows: int, dim: int) -> None:
        self.rows, self.dim = rows, dim
        self.codes = _load(path / "vectors.i8.npy", (rows, dim), np.int8)
        self.scale = _load(path / "vectors.scale.npy", (rows,), np.float32)
        self.err = _load(path / "vectors.err.npy", (rows,), np.float32)
        exact = path / "vectors.f32.npy"
        f32 = np.load(exact, mmap_mode="r")  # checks the header; rows are read with pread
        if f32.shape != (rows, dim) or f32.dtype != np.float32 or not f32.flags.c_contiguous:
            raise CorruptVersion(f"{exact.name}: {f32.shape} {f32.dtype}, expected ({rows}, {dim}) float32")
        self._offset = f32.offset
        self._row_bytes = dim * 4
        if exact.stat().st_size != self._offset + rows * self._row_bytes:
            raise CorruptVersion(f"{exact.name}: wrong size")
        self._exact_path = exact
        self._fd = os.open(exact, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)
        self._full: np.ndarray | None = None

    @property
    def full(self) -> np.ndarray:
        """Every normalised vector (float32, memory-mapped: pages are read as they are touched)."""
        if self._full is None:
            self._full = np.load(self._exact_path, mmap_mode="r")
        return self._full

    def exact_rows(self, rows: np.ndarray) -> np.ndarray:
        """The float32 vectors of `rows`, read one by one (mapping the file would bring the
        neighbouring rows into the process's memory too)."""
        out = np.empty((len(rows), self.dim), np.float32)
        for j, row in enumerate(rows.tolist()):
            got = os.pread(self._fd, self._row_bytes, self._offset + row * self._row_bytes)
            if len(got) != self._row_bytes:
                raise CorruptVersion(f"{self._exact_path.name}: short read")
            out[j] = np.frombuffer(got, np.float32)
        return out

    def approximate(self, query: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """scale * (codes @ query) for every row (or for `rows`), in blocks converted to float32."""
        count = self.rows if rows is None else len(rows)
        out = np.empty(count, np.float32)
        buffer = getattr(_buffers, "block", None)
        if buffer is None or buffer.shape[1] != self.dim:
            buffer = _buffers.block = np.empty((BLOCK, self.dim), np.float32)
        for start in range(0, count, BLOCK):
            end = min(start + BLOCK, count)
            block = buffer[: end - start]
            np.copyto(block, self.codes[start:end] if rows is None else self.codes[rows[start:end]], casting="unsafe")
            np.dot(block, query, out=out[start:end])
        out *= self.scale if rows is None else self.scale[rows]
        return out

    def top(self, query: np.ndarray, n: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        """(row, cosine similarity) of the n best rows that `mask` keeps, best first; the same
        rows and order as scoring every float32 vector (ties: the earlier row first)."""
        query = np.ascontiguousarray(query, dtype=np.float32)
        rows = None if mask is None else np.flatnonzero(mask)  # a filter: scan only what it keeps
        approx = self.approximate(query, rows)
        # |approx - exact| <= |v - scale*codes| * |q| (Cauchy-Schwarz), plus float32 rounding:
        # in the scan (terms summing to at most |q|_1, as |scale*codes| <= 1 per component) and
        # in the exact product, computed here and by a search over all float32 vectors (|q|_2).
        norm = float(np.linalg.norm(query))
        gamma = 2 * self.dim * UNIT
        bound = (self.err if rows is None else self.err[rows]) * norm
        bound += gamma * (float(np.abs(query).sum()) + 2 * norm) + 1e-7
        finite = np.isfinite(approx)
        if not finite.all():  # a vector that was not a number never ranks, as in a float32 search
            rows = np.flatnonzero(finite) if rows is None else rows[finite]
            approx, bound = approx[finite], bound[finite]
        n = min(n, len(approx))
        if n <= 0:
            return []
        # The n-th best lower bound: every row of the true top n scores at least this much.
        floor = np.partition(approx - bound, len(approx) - n)[len(approx) - n]
        candidates = np.flatnonzero(approx + bound >= floor)
        if rows is not None:
            candidates = rows[candidates]
        scores = self.exact_rows(candidates) @ query
        order = np.lexsort((candidates, -scores))[:n]
        return [(int(candidates[j]), float(scores[j])) for j in order]


def _load(path: Path, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    array = np.load(path, mmap_mode="r")
    if array.shape != shape or array.dtype != np.dtype(dtype):
        raise CorruptVersion(f"{path.name}: {array.shape} {array.dtype}, expected {shape} {np.dtype(dtype)}")
    return array


class StoredVersion:
    """One version's files, opened (memory-mapped): what a snapshot reads instead of Python objects."""

    def __init__(self, path: Path, key: str, token: str, rows: int) -> None:
        try:
            manifest = json.loads((path / "manifest.json").read_text())
        except (OSError, ValueError) as exc:
            raise CorruptVersion(f"manifest: {exc}") from exc
        if manifest.get("format") != FORMAT or manifest.get("key") != key:
            raise CorruptVersion("manifest of another version or format")
        if manifest.get("generation") != token:
            raise StaleVersion("the index was written to since this version was built")
        if manifest.get("rows") != rows:
            raise CorruptVersion(f"manifest: {manifest.get('rows')} rows, the index has {rows}")
        self.path = path
        self.rows = rows
        self.dim = int(manifest["dim"])
        try:
            self.docs = Blob(path / "docs.bin", path / "docs.idx.npy", rows)
            self.metas = Metas(Blob(path / "metas.bin", path / "metas.idx.npy", rows))
            self.columns = Columns(path, rows)
            self.vectors = DenseVectors(path, rows, self.dim) if self.dim else None
            self.bm25 = bm25s.BM25.load(path / "bm25", mmap=True) if rows else bm25s.BM25()
        except CorruptVersion:
            raise
        except Exception as exc:  # a truncated .npy, a broken JSON file, a missing file
            raise CorruptVersion(f"{type(exc).__name__}: {exc}") from exc
        if rows and self.bm25.scores.get("num_docs") != rows:
            raise CorruptVersion("bm25: another number of documents")


# --- building --------------------------------------------------------------------------------------


def version_dir(root: Path, key: str) -> Path:
    return root / key[:24]


def build(source: ChunkSource, root: Path, token: str, tokenize) -> tuple[str, list[str]]:
    """Write a version of everything `source` holds under `root` (atomically: a folder renamed
    into place) and return its key and ids. `tokenize(docs)` gives what `bm25s.BM25.index` takes."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".build-"))
    tmp.chmod(0o755)  # mkdtemp makes it private; the files are no more secret than the index
    try:
        key, ids = _write(source, tmp, token, tokenize)
        final = version_dir(root, key)
        try:
            tmp.rename(final)
        except OSError:  # another process renamed the same version into place first: keep theirs
            if not (final / "manifest.json").exists():
                raise
        return key, ids
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write(source: ChunkSource, out: Path, token: str, tokenize) -> tuple[str, list[str]]:
    ids: list[str] = []
    docs: list[str] = []
    pages: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # f32, codes, scale, err
    flags: dict[str, list[int]] = {}
    kinds: dict[Any, int] = {}
    sources: dict[Any, int] = {}
    kind_codes: list[int] = []
    source_codes: list[int] = []
    countries: set[str] = set()
    doc_ends, meta_ends = [0], [0]
    with open(out / "docs.bin", "wb") as doc_file, open(out / "metas.bin", "wb") as meta_file:
        while True:
            row = len(ids)
            page_ids, page_docs, page_metas, vectors = source.page(row, PAGE)
            if not page_ids:
                break
            if vectors.ndim == 2 and len(vectors):
                unit = normalise(vectors)
                pages.append((unit, *quantise(unit)))
            for i, (text, meta) in enumerate(zip(page_docs, page_metas, strict=True)):
                data = (text or "").encode()
                doc_file.write(data)
                doc_ends.append(doc_ends[-1] + len(data))
                encoded = json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode()
                meta_file.write(encoded)
                meta_ends.append(meta_ends[-1] + len(encoded))
                for name, value in meta.items():
                    if name.startswith(FLAG_PREFIXES) and value:
                        flags.setdefault(name, []).append(row + i)
                kind_codes.append(kinds.setdefault(meta["kind"], len(kinds)) if "kind" in meta else -1)
                source_codes.append(sources.setdefault(meta["source_id"], len(sources)) if "source_id" in meta else -1)
                if meta.get("kind") == "funding":
                    countries.update(c for c in (meta.get("countries") or "").split(",") if c)
            ids += page_ids
            docs += [text or "" for text in page_docs]
            if len(page_ids) < PAGE:
                break
    rows = len(ids)
    dim = pages[0][0].shape[1] if pages and sum(len(p[0]) for p in pages) == rows else 0
    if dim:
        _save_pages(out, pages, rows, dim)
    pages.clear()
    np.save(out / "docs.idx.npy", np.asarray(doc_ends, np.int64))
    np.save(out / "metas.idx.npy", np.asarray(meta_ends, np.int64))
    names = sorted(flags)
    matrix = np.zeros((len(names), rows), bool)
    for r, name in enumerate(names):
        matrix[r, flags[name]] = True
    np.save(out / "flags.npy", matrix)
    np.save(out / "kind.npy", np.asarray(kind_codes, np.int32).reshape(rows))
    np.save(out / "source.npy", np.asarray(source_codes, np.int32).reshape(rows))
    (out / "columns.json").write_text(
        json.dumps(
            {
                "flags": names,
                "kinds": list(kinds),
                "sources": list(sources),
                "countries_with_schemes": sorted(countries - {"EU"}),
            },
            ensure_ascii=False,
        )
    )
    if rows:
        bm25 = bm25s.BM25()
        bm25.index(tokenize(docs), show_progress=False)
        bm25.save(out / "bm25", show_progress=False)
    del docs
    key = fingerprint(source.model_name, ids)
    manifest = {
        "format": FORMAT,
        "key": key,
        "model": source.model_name,
        "rows": rows,
        "dim": dim,
        "generation": token,
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return key, ids


def _save_pages(out: Path, pages: Sequence[tuple[np.ndarray, ...]], rows: int, dim: int) -> None:
    """Each array written page by page into its file (no second copy of all vectors in memory)."""
    names = ("vectors.f32.npy", "vectors.i8.npy", "vectors.scale.npy", "vectors.err.npy")
    for k, name in enumerate(names):
        first = pages[0][k]
        shape = (rows, dim) if first.ndim == 2 else (rows,)
        array = np.lib.format.open_memmap(out / name, mode="w+", dtype=first.dtype, shape=shape)
        start = 0
        for page in pages:
            array[start : start + len(page[k])] = page[k]
            start += len(page[k])
        array.flush()
        del array


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Unit rows, computed exactly as the in-memory retriever does (row by row, so per page too)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if len(vectors):
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors


def quantise(unit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int8 codes, per-row scale and the norm of each row's residual (|v - scale * codes|)."""
    peak = np.abs(unit).max(axis=1) if unit.shape[1] else np.zeros(len(unit), np.float32)
    scale = (peak / 127).astype(np.float32)
    safe = np.where(scale > 0, scale, 1)[:, None]
    codes = np.clip(np.rint(unit / safe), -127, 127).astype(np.int8)
    residual = unit - codes.astype(np.float32) * scale[:, None]
    err = np.linalg.norm(residual.astype(np.float64), axis=1)
    return codes, scale, (err * (1 + 1e-6)).astype(np.float32)


def discard(path: Path) -> None:
    """Take an unreadable version out of the way (renamed first: another process may be opening it)."""
    trash = path.with_name(f".discarded-{os.urandom(6).hex()}")
    with contextlib.suppress(OSError):
        path.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)


def release_memory() -> None:
    """Hand the memory a build freed back to the system (glibc keeps it otherwise: at 100,000
    chunks the process stayed at 1 GB after building instead of going back to ~0.35 GB)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def prune(root: Path, keep: str) -> None:
    """Remove every version but `keep` (processes that opened one keep reading their files)."""
    if not root.is_dir():
        return
    now = time.time()
    for child in root.iterdir():
        if not child.is_dir() or child.name == keep:
            continue
        with contextlib.suppress(OSError):
            if child.name.startswith(".build-") and now - child.stat().st_mtime < KEEP_TMP_S:
                continue
            shutil.rmtree(child)
