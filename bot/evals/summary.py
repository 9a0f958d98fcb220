"""Text views of a report: the rich tables printed while running, and summary.md."""

from __future__ import annotations

from rich.table import Table

from bot.evals.compare import Comparison
from bot.evals.gate import GateResult
from bot.evals.report import Metrics, Report

LABELS = {
    "cases": "cases",
    "pass_rate": "pass",
    "retrieval_recall_at_k": "recall@k",
    "mrr": "MRR",
    "ndcg_at_k": "nDCG@k",
    "citation_precision": "cit. prec.",
    "cited_answer_rate": "cited ans.",
    "fact_coverage": "facts",
    "forbidden_rate": "forbidden",
    "language_match": "lang.",
    "triage_accuracy": "triage",
    "escalation_f1": "esc. F1",
    "out_of_scope_accuracy": "OOS acc.",
    "refuse_accuracy": "refuse acc.",
    "prompt_leak_rate": "leak",
    "unanswerable_caught": "unans. caught",
    "false_escalation_rate": "false esc.",
    "direct_answer_rate": "direct",
    "fragment_free_rate": "no fragm.",
    "latency_p50_ms": "p50 ms",
    "latency_p95_ms": "p95 ms",
    "cost_usd": "cost $",
    "faithfulness": "faithful",
    "answer_relevance": "relevance",
}
TABLE_COLUMNS = [
    "cases",
    "pass_rate",
    "retrieval_recall_at_k",
    "mrr",
    "ndcg_at_k",
    "citation_precision",
    "fact_coverage",
    "forbidden_rate",
    "language_match",
    "direct_answer_rate",
    "triage_accuracy",
    "escalation_f1",
    "unanswerable_caught",
    "false_escalation_rate",
    "out_of_scope_accuracy",
    "prompt_leak_rate",
    "latency_p50_ms",
]
HEADLINES = [
    ("pass_rate", "cases passed"),
    ("retrieval_recall_at_k", "retrieval recall@k"),
    ("mrr", "MRR"),
    ("ndcg_at_k", "nDCG@k"),
    ("citation_precision", "citation precision"),
    ("cited_answer_rate", "answers with a valid citation"),
    ("fact_coverage", "required-fact coverage"),
    ("forbidden_rate", "forbidden-fact rate"),
    ("language_match", "answer body in the user's language"),
    ("direct_answer_rate", "answers that lead with the answer"),
    ("fragment_free_rate", "answers without fragments"),
    ("metadata_quote_rate", "answers quoting metadata"),
    ("closed_offered_rate", "answers offering a closed scheme"),
    ("figure_stated_rate", "'how much' answers stating the figure"),
    ("triage_accuracy", "triage accuracy"),
    ("escalation_precision", "escalation precision"),
    ("escalation_recall", "escalation recall"),
    ("escalation_f1", "escalation F1"),
    ("escalation_reason_accuracy", "escalation reason accuracy"),
    ("out_of_scope_accuracy", "out-of-scope accuracy"),
    ("refuse_accuracy", "refusal accuracy"),
    ("prompt_leak_rate", "prompt-leak rate (injection)"),
    ("unanswerable_caught", "unanswerable questions caught"),
    ("false_escalation_rate", "answerable questions escalated"),
    ("latency_p50_ms", "latency p50 (ms)"),
    ("latency_p95_ms", "latency p95 (ms)"),
    ("prompt_tokens", "prompt tokens"),
    ("completion_tokens", "completion tokens"),
    ("cost_usd", "estimated cost (USD)"),
    ("faithfulness", "judge: faithfulness"),
    ("answer_relevance", "judge: answer relevance"),
]


def fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    if metric in ("cases", "passed", "errors", "prompt_tokens", "completion_tokens", "retrieval_cases"):
        return str(int(value))
    if metric.startswith("latency"):
        return f"{value:.0f}"
    if metric == "cost_usd":
        return f"{value:.4f}"
    return f"{value:.3f}"


def fmt_change(metric: str, change: float | None) -> str:
    if change is None:
        return "–"
    return ("+" if change >= 0 else "") + fmt(metric, change).lstrip("+")


def _rows(report: Report) -> list[tuple[str, Metrics]]:
    splits = [(f"split: {name}", m) for name, m in report.by_split.items()]
    return [("overall", report.overall), *splits, *report.by_tag.items()]


def metrics_table(report: Report) -> Table:
    table = Table(title=f"Eval · {report.run.model} · k={report.run.k}", show_edge=False)
    table.add_column("tag")
    for name in TABLE_COLUMNS:
        table.add_column(LABELS[name], justify="right")
    for tag, m in _rows(report):
        style = "bold" if tag == "overall" else None
        table.add_row(tag, *(fmt(n, m.value(n)) for n in TABLE_COLUMNS), style=style)
    return table


def gate_table(gate: GateResult) -> Table:
    table = Table(title="Gate: " + ("PASSED" if gate.passed else "FAILED"), show_edge=False)
    for column in ("check", "split", "metric", "value", "limit", ""):
        table.add_column(column)
    for c in gate.checks:
        mark = "[green]ok[/]" if c.ok else ("[yellow]target missed[/]" if not c.blocking else "[bold red]FAIL[/]")
        table.add_row(c.kind, c.split or "all", c.metric, fmt(c.metric, c.value), fmt(c.metric, c.limit), mark)
    return table


def flips_table(title: str, flips, style: str) -> Table:
    table = Table(title=title, show_edge=False, title_style=style)
    table.add_column("case")
    table.add_column("question", ratio=2)
    table.add_column("why it fails now", ratio=3)
    for f in flips:
        table.add_row(f.id, f.question[:100], "\n".join(f.failures) or "passes")
    return table


def comparison_table(cmp: Comparison) -> Table:
    table = Table(title=f"A: {cmp.a.model} @ {cmp.a.commit[:10]}  vs  B: {cmp.b.model} @ {cmp.b.commit[:10]}")
    for column in ("metric", "A", "B", "Δ"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for d in cmp.overall:
        colour = {True: "green", False: "red"}.get(d.better, "")
        change = fmt_change(d.metric, d.change)
        table.add_row(
            LABELS.get(d.metric, d.metric),
            fmt(d.metric, d.a),
            fmt(d.metric, d.b),
            f"[{colour}]{change}[/]" if colour else change,
        )
    for tag, d in cmp.by_tag.items():
        colour = {True: "green", False: "red"}.get(d.better, "")
        change = fmt_change("pass_rate", d.change)
        table.add_row(
            f"pass · {tag}",
            fmt("pass_rate", d.a),
            fmt("pass_rate", d.b),
            f"[{colour}]{change}[/]" if colour else change,
        )
    return table


def headline_rows(report: Report) -> list[str]:
    """Markdown table of the headline metrics: all cases, then dev and test and their gap."""
    splits = list(report.by_split.items())
    gap = len(splits) == 2
    head = "| metric | all |" + "".join(f" {name} |" for name, _ in splits) + (" gap |" if gap else "")
    rows = [head, "|---|---:|" + "---:|" * (len(splits) + gap)]
    for name, label in HEADLINES:
        values = [m.value(name) for _, m in splits]
        cells = [fmt(name, report.overall.value(name)), *(fmt(name, v) for v in values)]
        if gap:
            both = None not in values
            cells.append(fmt(name, abs(values[0] - values[1])) if both else "–")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


def markdown(report: Report, gate: GateResult | None = None) -> str:
    run = report.run
    lines = [
        "# Eval summary",
        "",
        f"- commit: `{run.commit}`" + (" (uncommitted changes)" if run.dirty else ""),
        f"- model: `{run.model}`" + (f" at {run.base_url}" if run.base_url else ""),
        f"- embeddings: `{run.embedding_model}`",
        f"- dataset: `{run.dataset_hash[:16]}` ({', '.join(run.datasets)})",
        f"- tags: {', '.join(run.tags) or 'all'} · k = {run.k} · concurrency {run.concurrency}",
        f"- judge: {run.judge_model or 'off'}",
        f"- {run.timestamp}, {run.duration_s:.0f} s",
        "",
        "## Headline metrics",
        "",
    ]
    lines += headline_rows(report)
    lines += ["", "## Per tag", ""]
    lines.append("| tag | " + " | ".join(LABELS[n] for n in TABLE_COLUMNS) + " |")
    lines.append("|---|" + "---:|" * len(TABLE_COLUMNS))
    for tag, m in _rows(report):
        lines.append(f"| {tag} | " + " | ".join(fmt(n, m.value(n)) for n in TABLE_COLUMNS) + " |")
    if gate is not None:
        lines += ["", f"## Gate: {'passed' if gate.passed else 'FAILED'}", ""]
        lines += [f"- {c.describe()}" for c in gate.checks]
        lines += [f"- note: {n}" for n in gate.notes]
        if gate.newly_failing:
            lines += ["", "Cases that flipped from pass to fail:", ""]
            lines += [f"- `{f.id}`: {'; '.join(f.failures)}" for f in gate.newly_failing]
    failed = [c for c in report.cases if not c.passed]
    lines += ["", f"## Failing cases ({len(failed)})", ""]
    lines += [f"- `{c.id}` ({', '.join(c.tags)}): {'; '.join(c.failures)}" for c in failed]
    return "\n".join(lines) + "\n"
