"""Every figure of issue #19 in one run, next to its target: `make bench`.

    python bench/report.py [--quick] [--data-dir DIR] [--markdown PATH] [--json PATH]
                           [--update-readme] [--only SECTION ...]

Runs, each in its own process and with its own `--json` output, the benchmark scripts:

- bench/first_run.py: an empty data dir to the first answer of `advisor ask`, with the shipped
  vector cache (the run without the cache takes minutes and is left out);
- bench/retrieval.py: ingest throughput (a sample of the shipped chunks and of the 10k synthetic
  corpus, embedded with the bundled model), the embedding model's question cost, and at
  1k/10k/100k chunks the retriever's open time, resident memory and search latency with and
  without the question's embedding;
- bench/advisor.py: the answer pipeline's own overhead around a model stub;
- bench/telegram.py: 50 users at once through the real `advisor run` and the fake Telegram
  server, with a 1 s model stub;
- bench/startup.py: launching `advisor run` until it answers a waiting question;

then prints one table (figure | measured | target | met) and the machine it ran on (CPU model,
cores, memory, Python, date, git commit), and writes the table as Markdown to `--markdown`
(default bench/results/latest.md); `--update-readme` also pastes it into README.md between
`<!-- bench:table -->` and `<!-- /bench:table -->`. Each script's options are kept small enough
for the whole run to finish within 10 minutes on 2 cores; the wall time of each section is
printed. `--quick` runs every script at a small size (a smoke test: its figures are not the
targets' sizes). `--data-dir DIR` keeps the synthetic indexes (DIR/synthetic) and the index of
knowledge/ (DIR/knowledge) for the next run. A script that fails or runs out of time leaves its
figures "not measured" and the rest of the report goes on; the exit status is 1 then.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
README = REPO / "README.md"
DEFAULT_MARKDOWN = BENCH / "results" / "latest.md"
BEGIN, END = "<!-- bench:table -->", "<!-- /bench:table -->"

# Issue #19's targets.
FIRST_ANSWER_S = 15.0
INGEST_BASELINE_PER_S = 1.2
INGEST_PER_S = 5 * INGEST_BASELINE_PER_S
OPEN_S, RSS_MB, QUERY_P95_MS = 5.0, 500.0, 50.0  # at 100k chunks
EMBED_P50_MS = 30.0
STARTUP_S = 5.0
TELEGRAM_FACTOR = 2.0  # the last of 50 answers within 2x the stub latency
CPU_PER_QUESTION_MS = 60.0
TARGET_SIZE = 100_000


@dataclass(frozen=True)
class Section:
    name: str
    script: str
    full: str  # the script's options (split on spaces)
    quick: str
    timeout_s: int
    data_dir: str | None = None  # the subfolder of --data-dir passed as the script's --data-dir


SECTIONS = [
    Section("first_run", "first_run.py", "--repeat 2 --no-uncached", "--repeat 1 --no-uncached", 120),
    Section(
        "retrieval",
        "retrieval.py",
        "--sizes 1000 10000 100000 --repeat 1 --queries 100 --ingest-sample 96 --ingest-synthetic 48",
        "--sizes 1000 --repeat 1 --queries 20 --ingest-sample 16 --ingest-synthetic 8",
        420,
        "synthetic",
    ),
    Section("advisor", "advisor.py", "--questions 20 --latency 0.3", "--questions 5", 150, "knowledge"),
    Section("telegram", "telegram.py", "--users 50 --latency 1.0", "--users 5", 150, "knowledge"),
    Section("startup", "startup.py", "--repeat 3", "--repeat 1", 150, "knowledge"),
]


@dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    target: str
    met: bool | None  # None: no target, or not measured


# --- the table ------------------------------------------------------------------------------------


def _get(results: dict[str, Any], *path: str | int) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(str(key))
    return value


def _fmt(value: float | None, unit: str, digits: int = 1) -> str:
    return "not measured" if value is None else f"{value:.{digits}f} {unit}".rstrip()


def _judge(value: float | None, ok: Callable[[float], bool]) -> bool | None:
    return None if value is None else ok(value)


def build_rows(results: dict[str, Any]) -> list[Row]:
    """The table from each script's --json output (`results[section]`; a missing section or
    figure reads "not measured"). Pure: the test feeds it made-up results."""
    rows: list[Row] = []

    def row(figure: str, value: float | None, unit: str, target: str, ok=None, digits: int = 1) -> None:
        rows.append(Row(figure, _fmt(value, unit, digits), target, _judge(value, ok) if ok else None))

    below = f"< {FIRST_ANSWER_S:.0f} s"
    row(
        "first answer from an empty data dir (`advisor ask`, shipped vector cache)",
        _get(results, "first_run", "cached", "median_s"),
        "s",
        below,
        lambda v: v < FIRST_ANSWER_S,
    )
    row("the same, index already built", _get(results, "first_run", "ready", "median_s"), "s", "")

    ingest_target = f"≥ {INGEST_PER_S:.0f} /s (5x {INGEST_BASELINE_PER_S})"
    shipped = _get(results, "retrieval", "ingest_shipped") or {}
    label = "ingest, shipped knowledge (real embeddings)"
    if shipped and shipped.get("chunks") != shipped.get("total_chunks"):
        label += f", {shipped['chunks']} of {shipped['total_chunks']} chunks"
    row(label, shipped.get("per_s"), "chunks/s", ingest_target, lambda v: v >= INGEST_PER_S)
    synthetic = _get(results, "retrieval", "ingest_synthetic") or {}
    label = "ingest, 10k synthetic corpus (real embeddings)"
    if synthetic:
        label = (
            f"ingest, {synthetic['corpus'] // 1000}k synthetic corpus (real embeddings), "
            f"{synthetic['passages']} passages"
        )
    row(label, synthetic.get("per_s"), "passages/s", ingest_target, lambda v: v >= INGEST_PER_S)

    row(
        "question embedding p50 (one question per call)",
        _get(results, "retrieval", "embedding", "query_p50_ms"),
        "ms",
        f"< {EMBED_P50_MS:.0f} ms",
        lambda v: v < EMBED_P50_MS,
    )
    row("question embedding p95", _get(results, "retrieval", "embedding", "query_p95_ms"), "ms", "")

    sizes = _get(results, "retrieval", "sizes") or {}
    for size in sorted({int(s) for s in sizes} | {TARGET_SIZE}):
        fig = sizes.get(str(size)) or {}
        at = f"{size // 1000}k chunks" if size >= 1000 else f"{size} chunks"
        scored = size == TARGET_SIZE
        row(
            f"{at}: open",
            fig.get("open_s"),
            "s",
            f"< {OPEN_S:.0f} s" if scored else "",
            (lambda v: v < OPEN_S) if scored else None,
            digits=2,
        )
        row(
            f"{at}: RSS after opening and querying",
            fig.get("rss_mb"),
            "MB",
            f"< {RSS_MB:.0f} MB" if scored else "",
            (lambda v: v < RSS_MB) if scored else None,
            digits=0,
        )
        row(f"{at}: search p95, question vector given", fig.get("search_p95_ms"), "ms", "")
        row(
            f"{at}: search p95 with the question's embedding",
            fig.get("embedded_p95_ms"),
            "ms",
            f"< {QUERY_P95_MS:.0f} ms" if scored else "",
            (lambda v: v < QUERY_P95_MS) if scored else None,
        )

    row(
        "start-up of `advisor run` until it answers",
        _get(results, "startup", "first_answer_s"),
        "s",
        f"< {STARTUP_S:.0f} s",
        lambda v: v < STARTUP_S,
        digits=2,
    )
    row("start-up until /healthz answers", _get(results, "startup", "healthz_s"), "s", "", digits=2)

    row("pipeline overhead p50 (model stub)", _get(results, "advisor", "overhead", "p50_ms"), "ms", "")
    row("pipeline overhead p95 (model stub)", _get(results, "advisor", "overhead", "p95_ms"), "ms", "")

    tg = results.get("telegram") or {}
    users = tg.get("users", 50)
    latency = tg.get("latency_s", 1.0)
    limit = TELEGRAM_FACTOR * latency
    row(
        f"{users} users at once: last answer ({latency:g} s stub)",
        tg.get("last_answer_s"),
        "s",
        f"≤ {limit:g} s ({TELEGRAM_FACTOR:g}x the stub)",
        lambda v: v <= limit,
        digits=2,
    )
    row(f"{users} users at once: lost answers", tg.get("lost"), "", "0", lambda v: v == 0, digits=0)
    row(f"{users} users at once: duplicated answers", tg.get("duplicated"), "", "0", lambda v: v == 0, digits=0)
    row(
        f"{users} users at once: bot CPU per question",
        tg.get("cpu_ms_per_question"),
        "ms",
        f"≤ {CPU_PER_QUESTION_MS:.0f} ms",
        lambda v: v <= CPU_PER_QUESTION_MS,
    )
    row(f"{users} users at once: bot RSS after the burst", tg.get("rss_mb"), "MB", "", digits=0)
    return rows


def met_text(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "no")


def machine_line(machine: dict[str, Any]) -> str:
    return (
        f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']:.1f} GB RAM, "
        f"Python {machine['python']}, {machine['date']}, commit {machine['commit']}"
        + (f", load average {machine['load_average']:.1f} at the start" if "load_average" in machine else "")
    )


def markdown(rows: list[Row], machine: dict[str, Any], walls: dict[str, float], quick: bool = False) -> str:
    lines = [
        f"Machine: {machine_line(machine)}" + (" · `--quick` (small sizes, not the targets' sizes)" if quick else ""),
        "",
        "| figure | measured | target | met |",
        "|---|---:|---|:-:|",
    ]
    lines += [f"| {r.figure} | {r.measured} | {r.target or '—'} | {met_text(r.met)} |" for r in rows]
    if walls:
        lines += ["", "Wall time: " + ", ".join(f"{name} {s:.0f} s" for name, s in walls.items())]
    return "\n".join(lines) + "\n"


def text_table(rows: list[Row]) -> str:
    widths = [max(len(h), *(len(getattr(r, f)) for r in rows)) for h, f in (("figure", "figure"), ("m", "measured"))]
    target_w = max(len("target"), *(len(r.target) for r in rows))
    head = f"{'figure':<{widths[0]}}  {'measured':>{widths[1]}}  {'target':<{target_w}}  met"
    out = [head, "-" * len(head)]
    for r in rows:
        out.append(f"{r.figure:<{widths[0]}}  {r.measured:>{widths[1]}}  {r.target:<{target_w}}  {met_text(r.met)}")
    return "\n".join(out)


def replace_block(text: str, table: str) -> str:
    """`text` with what lies between the bench:table markers replaced by `table`; a lone opening
    marker (the placeholder) gets its closing one."""
    block = f"{BEGIN}\n{table.rstrip()}\n{END}"
    if BEGIN not in text:
        raise ValueError(f"no {BEGIN} line to paste the table at")
    if END in text:
        return re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, count=1, flags=re.S)
    return text.replace(BEGIN, block, 1)


# --- the machine ----------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    memory_gb = float("nan")
    try:
        with open("/proc/meminfo") as f:
            kb = next(int(line.split()[1]) for line in f if line.startswith("MemTotal"))
        memory_gb = kb / 1024 / 1024
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "load_average": os.getloadavg()[0],
    }


def git_commit() -> str:
    """HEAD's short hash, "+ local changes" when the work tree differs (read-only git commands)."""

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)

    try:
        head = git("rev-parse", "--short", "HEAD")
        if head.returncode != 0:
            return "unknown"
        dirty = git("diff-index", "--quiet", "HEAD", "--").returncode != 0
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" + local changes" if dirty else "")


# --- running the scripts --------------------------------------------------------------------------


def run_section(section: Section, quick: bool, data_dir: Path | None, out: Path) -> tuple[dict | None, float, str]:
    """Run one script in its own process; (its JSON or None, wall seconds, what went wrong)."""
    json_path = out / f"{section.name}.json"
    cmd = [sys.executable, str(BENCH / section.script), *(section.quick if quick else section.full).split()]
    cmd += ["--json", str(json_path)]
    if data_dir is not None and section.data_dir:
        folder = data_dir / section.data_dir
        folder.mkdir(parents=True, exist_ok=True)
        cmd += ["--data-dir", str(folder)]
    print(f"\n=== {section.name}: {' '.join(cmd[1:])}", flush=True)
    started = time.monotonic()
    problem = ""
    try:
        done = subprocess.run(cmd, cwd=REPO, timeout=section.timeout_s)
        if done.returncode != 0:
            problem = f"exit status {done.returncode}"
    except subprocess.TimeoutExpired:
        problem = f"stopped after {section.timeout_s} s"
    wall = time.monotonic() - started
    result = None
    if json_path.exists():
        try:
            result = json.loads(json_path.read_text())
        except json.JSONDecodeError as exc:
            problem = problem or f"unreadable JSON ({exc})"
    elif not problem:
        problem = "no JSON written"
    print(f"=== {section.name}: {wall:.0f} s" + (f" ({problem})" if problem else ""), flush=True)
    return result, wall, problem


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test of every script")
    parser.add_argument("--data-dir", type=Path, help="keep the built indexes here and reuse them")
    parser.add_argument("--markdown", type=Path, default=DEFAULT_MARKDOWN, help="write the table here (Markdown)")
    parser.add_argument("--json", type=Path, help="also write every script's figures and the machine here")
    parser.add_argument("--update-readme", action="store_true", help="paste the table into README.md")
    parser.add_argument(
        "--only", nargs="+", choices=[s.name for s in SECTIONS], help="run these sections only (the rest: not measured)"
    )
    args = parser.parse_args()

    machine = machine_info()
    print(f"machine: {machine_line(machine)}", flush=True)
    results: dict[str, Any] = {}
    walls: dict[str, float] = {}
    problems: dict[str, str] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="advisor-report-") as tmp:
        for section in SECTIONS:
            if args.only and section.name not in args.only:
                continue
            result, walls[section.name], problem = run_section(section, args.quick, args.data_dir, Path(tmp))
            if result is not None:
                results[section.name] = result
            if problem:
                problems[section.name] = problem
    walls["total"] = time.monotonic() - started

    rows = build_rows(results)
    print(f"\nissue #19: figures and targets{' (--quick: small sizes)' if args.quick else ''}")
    print(text_table(rows))
    print(f"machine: {machine_line(machine)}")
    print("wall time: " + ", ".join(f"{name} {s:.0f} s" for name, s in walls.items()))
    for name, problem in problems.items():
        print(f"{name}: {problem}")
    table = markdown(rows, machine, walls, args.quick)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(table)
    print(f"table written to {args.markdown}")
    if args.json:
        from bench.jsonout import write_json

        write_json(args.json, {"machine": machine, "wall_s": walls, "results": results, "problems": problems})
    if args.update_readme:
        README.write_text(replace_block(README.read_text(), table))
        print(f"table pasted into {README}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
