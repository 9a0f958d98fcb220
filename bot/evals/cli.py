"""`advisor eval`: run the golden cases, write reports, compare runs and gate changes."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bot.evals.compare import compare as compare_reports
from bot.evals.dataset import DatasetInvalid, dataset_hash, default_datasets, evals_dir, load_cases, sample, select
from bot.evals.gate import Flip, GateResult, Thresholds, check_gate
from bot.evals.html_report import render
from bot.evals.report import CaseResult, Report
from bot.evals.summary import comparison_table, gate_table, markdown, metrics_table

console = Console()
if not console.is_terminal:  # CI logs: wide enough for the metrics table
    console.width = 170
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def eval_command(
    dataset: Annotated[
        list[Path] | None,
        typer.Option("--dataset", "-d", help="Case file (repeatable). Default: every evals/datasets/*.jsonl."),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Only cases with this tag (repeatable).")] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Chat model: evaluate the generative path (needs --base-url or ADVISOR_LLM_*)."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint (default: ADVISOR_LLM_BASE_URL).")
    ] = None,
    baseline: Annotated[Path | None, typer.Option(help="Baseline report [default: evals/baseline.json].")] = None,
    thresholds: Annotated[Path | None, typer.Option(help="Gate thresholds [default: evals/thresholds.yaml].")] = None,
    out: Annotated[Path | None, typer.Option(help="Report folder. Default: evals/reports/<timestamp>/.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Cases answered at once.")] = 4,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only N of the selected cases, spread over their tags.")
    ] = None,
    judge_model: Annotated[
        str | None, typer.Option(help="LLM-as-judge model for faithfulness and relevance (off by default).")
    ] = None,
    judge_base_url: Annotated[
        str | None, typer.Option(help="Judge endpoint (default: the chat model's endpoint).")
    ] = None,
    price_prompt: Annotated[
        float | None, typer.Option(help="USD per 1k prompt tokens (default: thresholds file).")
    ] = None,
    price_completion: Annotated[
        float | None, typer.Option(help="USD per 1k completion tokens (default: thresholds file).")
    ] = None,
    compare: Annotated[
        tuple[Path, Path] | None,
        typer.Option(help="Compare two reports (report.json, folder or baseline) and exit.", metavar="A B"),
    ] = None,
    gate: Annotated[
        bool, typer.Option("--gate", help="Exit 1 when a headline metric misses its threshold or regresses.")
    ] = False,
    write_baseline: Annotated[
        bool, typer.Option("--write-baseline", help="Save this run as the new baseline (on purpose).")
    ] = False,
) -> None:
    """Evaluate answer quality on the golden cases (offline composed answers unless --model)."""
    if compare and all(compare):
        _compare(*compare)
        return
    root = evals_dir()
    baseline = baseline or root / "baseline.json"
    thresholds_path = thresholds or root / "thresholds.yaml"
    limits = _thresholds(thresholds_path, required=gate)
    if price_prompt is not None:
        limits.pricing.prompt_per_1k = price_prompt
    if price_completion is not None:
        limits.pricing.completion_per_1k = price_completion

    files = list(dataset or default_datasets())
    missing = [str(f) for f in files if not f.is_file()]
    if not files or missing:
        _fail(f"no case files: {', '.join(missing) or root / 'datasets' / '*.jsonl'}")
    try:
        cases = select(load_cases(files), tag or [])
    except DatasetInvalid as exc:
        err.print(f"[bold red]{len(exc.problems)} invalid case(s):[/]")
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    except ValueError as exc:
        _fail(f"unknown tag: {exc}")
    cases = sample(cases, limit) if limit else cases
    if not cases:
        _fail("no case matches the selection")

    settings = _settings(model, base_url)
    advisor = _advisor(settings)
    judge = _judge(judge_model, judge_base_url, settings)

    from bot.evals.runner import build_report, run_info

    started = time.perf_counter()
    results = _run(cases, advisor, limits.k, concurrency, judge)
    info = run_info(
        settings,
        judge_model=judge_model,
        dataset_hash=dataset_hash(files),
        datasets=[f.name for f in files],
        tags=sorted(tag or []),
        k=limits.k,
        concurrency=concurrency,
        duration_s=round(time.perf_counter() - started, 1),
    )
    report = build_report(results, info, limits.pricing)
    verdict = check_gate(report, limits, _load_baseline(baseline))
    folder = out or root / "reports" / dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    # Without --gate nothing was gated: no report or summary may claim a verdict.
    write_reports(report, verdict if gate else None, folder)
    _print_outcome(report, verdict, folder, gated=gate)
    if write_baseline:
        report.slim().save(baseline, compact=True)
        console.print(f"Baseline written to {baseline}: commit it with a note on why the numbers moved.")
    if gate and not verdict.passed:
        failed = ", ".join(f"{c.metric} ({c.kind})" for c in verdict.checks if not c.ok and c.blocking)
        err.print(f"[bold red]Gate failed:[/] {failed}", highlight=False)
        raise typer.Exit(1)


def _run(cases, advisor, k: int, concurrency: int, judge) -> list[CaseResult]:
    from bot.evals.runner import evaluate

    columns = (
        TextColumn("[bold]Evaluating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]{task.fields[passed]} passed"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("eval", total=len(cases), passed=0)
        passed = 0

        def on_done(result) -> None:
            nonlocal passed
            passed += result.passed
            bar.update(task, advance=1, passed=passed)

        return asyncio.run(evaluate(cases, advisor, k=k, concurrency=concurrency, judge=judge, on_done=on_done))


def _load_baseline(path: Path) -> Report | None:
    if not path.is_file():
        return None
    try:
        return Report.load(path)
    except ValueError as exc:
        _fail(f"{path}: not a readable report: {exc}")


def _print_outcome(report: Report, verdict: GateResult, folder: Path, gated: bool) -> None:
    console.print(metrics_table(report))
    checks = gate_table(verdict)
    if not gated:  # the thresholds still say where the run stands, but decide nothing
        checks.title = "Thresholds (not enforced: run with --gate for a verdict)"
    console.print(checks)
    for note in verdict.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    _print_flips("pass -> fail", verdict.newly_failing)
    _print_flips("fail -> pass", verdict.newly_passing)
    console.print(f"Reports: {folder}/report.html, summary.md, report.json", highlight=False)


def write_reports(report: Report, verdict: GateResult | None, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    report.save(folder / "report.json")
    (folder / "summary.md").write_text(markdown(report, verdict), encoding="utf-8")
    (folder / "report.html").write_text(render(report, verdict), encoding="utf-8")
    if verdict is not None:
        (folder / "gate.json").write_text(verdict.model_dump_json(indent=1) + "\n", encoding="utf-8")


def _print_flips(title: str, flips: list[Flip]) -> None:
    if not flips:
        return
    console.print(f"[bold]{len(flips)} case(s) flipped {title}:[/]")
    for f in flips:
        why = "; ".join(f.failures) if f.failures else "now passes"
        console.print(f"  {f.id}: {why}", markup=False, highlight=False, soft_wrap=True)


def _compare(a: Path, b: Path) -> None:
    for path in (a, b):
        if not path.exists():
            _fail(f"{path}: no such report")
    result = compare_reports(Report.load(a), Report.load(b))
    console.print(comparison_table(result))
    for note in result.notes:
        console.print(f"note: not like for like: {note}", markup=False, highlight=False)
    _print_flips("pass -> fail", result.newly_failing)
    _print_flips("fail -> pass", result.newly_passing)
    if result.only_in_a or result.only_in_b:
        only_a, only_b = ", ".join(result.only_in_a) or "-", ", ".join(result.only_in_b) or "-"
        console.print(f"Only in A: {only_a}; only in B: {only_b}", markup=False, highlight=False)
    if not (result.newly_failing or result.newly_passing):
        console.print("No case flipped.")


def _thresholds(path: Path, required: bool) -> Thresholds:
    if not path.is_file():
        if required:
            _fail(f"{path}: no thresholds file (needed by --gate)")
        return Thresholds()
    try:
        return Thresholds.load(path)
    except ValueError as exc:  # includes pydantic's ValidationError
        _fail(f"invalid thresholds: {exc}")


def _settings(model: str | None, base_url: str | None):
    from bot.config import Settings

    settings = Settings()
    if model is None:  # the offline path, whatever the environment configures
        return settings.model_copy(update={"llm_base_url": None, "llm_api_key": None})
    settings = settings.model_copy(update={"llm_model": model, "llm_base_url": base_url or settings.llm_base_url})
    if not settings.llm_configured:
        _fail("--model needs an endpoint: --base-url, ADVISOR_LLM_BASE_URL or ADVISOR_LLM_API_KEY")
    return settings


def _advisor(settings):
    from bot.advisor.pipeline import Advisor
    from bot.knowledge.base import KnowledgeBase
    from bot.knowledge.loaders import ContentInvalid

    try:
        kb = KnowledgeBase.open(settings)
    except Exception as exc:
        _fail(f"cannot open the knowledge index under {settings.data_dir}: {exc}")
    with Progress(
        TextColumn("[bold]Indexing"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task("index", total=None)
        try:
            kb.sync(
                progress=lambda done, total: bar.update(task, completed=done),
                on_total=lambda total: bar.update(task, total=total),
            )
        except ContentInvalid as exc:
            _fail("the knowledge base is invalid:\n" + "\n".join(str(e) for e in exc.errors))
    advisor = Advisor(settings, kb)
    with console.status("Loading models…"):
        advisor.warm_up()  # so that the first cases' latency is not the models' start-up
    return advisor


def _judge(model: str | None, base_url: str | None, settings):
    if not model:
        return None
    from bot.evals.judge import Judge

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return Judge(model, base_url or settings.llm_base_url, key)
