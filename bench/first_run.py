"""First run: from a fresh data dir to the first answer of `advisor ask`, with and without the
shipped vector cache (bot/knowledge/data/vectors.*).

    python bench/first_run.py [--repeat 3] [--question "What is eco-design?"] [--no-uncached]
                              [--json PATH]

Each run is a new `advisor ask` process on an empty data dir, so it includes start-up, building
the index (the shipped chunks: embedded, or taken from the cache), loading the model and
answering. No language model is configured: the answer is composed, as on a fresh install.
The "index ready" row is the same command once the index exists, for reference.
`--json PATH` writes the medians and every run's time as JSON (bench/report.py reads them).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.jsonout import write_json

REPO = Path(__file__).resolve().parent.parent
ADVISOR = Path(sys.executable).parent / "advisor"
TARGET_S = 15.0  # issue #19: first answer in under 15 s on 2 cores


def ask(data_dir: Path, question: str, vector_cache: bool) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
    env |= {"ADVISOR_DATA_DIR": str(data_dir), "ADVISOR_VECTOR_CACHE": str(vector_cache).lower()}
    t = time.perf_counter()
    done = subprocess.run([str(ADVISOR), "ask", question], env=env, cwd=REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if done.returncode != 0 or "advisor ·" not in done.stdout:
        sys.exit(f"advisor ask failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def indexed(output: str) -> str:
    found = re.search(r"(\d+) chunk\(s\) embedded,\s+(\d+)\s+from\s+the\s+shipped", output)
    return f"{found[1]} embedded, {found[2]} from the cache" if found else "nothing to index"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--question", default="What is eco-design?")
    parser.add_argument("--repeat", type=int, default=3, help="fresh-data-dir runs per mode (median shown)")
    parser.add_argument("--no-uncached", action="store_true", help="skip the run without the cache (minutes)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures here as JSON")
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores · question: {args.question!r} · composed answers (no LLM)")
    modes = [("fresh data dir, vector cache", True)]
    if not args.no_uncached:
        modes.append(("fresh data dir, no cache (before)", False))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, cache in modes:
            times, what = [], ""
            repeat = args.repeat if cache else 1  # one uncached run takes minutes
            for i in range(repeat):
                data = Path(tmp) / f"{cache}-{i}"
                elapsed, out = ask(data, args.question, cache)
                times.append(elapsed)
                what = indexed(out)
            rows.append((label, times, what))
            if cache:
                ready = [ask(data, args.question, cache)[0] for _ in range(repeat)]
                rows.append(("index ready (second run)", ready, indexed(ask(data, args.question, cache)[1])))
    print(f"{'first answer of advisor ask':38} {'median s':>9} {'runs':>5}  index built")
    for label, times, what in rows:
        print(f"{label:38} {statistics.median(times):9.1f} {len(times):5}  {what}")
    print(f"target: < {TARGET_S:.0f} s from a fresh data dir (issue #19)")
    if args.json:
        figures: dict = {"question": args.question, "target_s": TARGET_S}
        for (label, times, what), key in zip(rows, ["cached", "ready", "uncached"], strict=False):
            figures[key] = {"label": label, "median_s": statistics.median(times), "runs_s": times, "index": what}
        write_json(args.json, figures)


if __name__ == "__main__":
    main()
