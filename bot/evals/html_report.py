"""report.html: one self-contained page (inline CSS and SVG, no scripts, no external assets)."""

from __future__ import annotations

import random
from html import escape

from bot.evals.gate import GateResult
from bot.evals.report import CaseResult, Report
from bot.evals.summary import HEADLINES, LABELS, TABLE_COLUMNS, fmt
from bot.evals.svg import grouped_bars, histogram

WORST = 20
SAMPLED = 20  # answers shown in full for a person to read
RUBRIC = (
    ("direct", "leads with the answer"),
    ("language", "in the user's language"),
    ("whole", "no fragments"),
    ("sources", "right sources"),
)
CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;
 padding:0 1rem;color:#1d2521}
h1{font-size:1.5rem;margin-bottom:.2rem}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d8e0db}
.meta{color:#55625b}.meta code{background:#eef3ef;padding:0 .3em;border-radius:3px}
.cards{display:flex;flex-wrap:wrap;gap:.6rem}
.card{border:1px solid #d8e0db;border-radius:6px;padding:.5rem .8rem;min-width:9rem}
.card b{display:block;font-size:1.25rem}.card span{color:#55625b;font-size:.85em}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border-bottom:1px solid #e4e9e6;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f6f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#2f6f4e;font-weight:600}.fail{color:#b5534a;font-weight:600}
.answer{white-space:pre-wrap;max-height:16rem;overflow:auto;font-size:.9em;background:#f8faf9;padding:.3rem}
.answer.full{max-height:none}.why li{color:#8a3b33}.cit{font-size:.85em}.charts{display:flex;flex-wrap:wrap;gap:2rem}
svg.chart text{font:11px system-ui,sans-serif;fill:#1d2521}
svg.chart .chart-title{font-weight:600;font-size:13px}svg.chart .axis{stroke:#8c9a92}
"""


def render(report: Report, gate: GateResult | None = None) -> str:
    run = report.run
    body = [
        "<h1>circular-advisor · answer-quality eval</h1>",
        '<p class="meta">'
        f"commit <code>{escape(run.commit[:12])}</code>{' (uncommitted changes)' if run.dirty else ''} · "
        f"model <code>{escape(run.model)}</code> · embeddings <code>{escape(run.embedding_model)}</code> · "
        f"dataset <code>{escape(run.dataset_hash[:12])}</code> · k = {run.k} · "
        f"judge {escape(run.judge_model or 'off')} · {escape(run.timestamp)} · {run.duration_s:.0f} s</p>",
    ]
    if gate is not None:
        body.append(_gate(gate))
    body.append("<h2>Headline metrics</h2>" + _cards(report) + _split_table(report))
    body.append('<h2>Charts</h2><div class="charts">' + _tag_chart(report) + _latency_chart(report) + "</div>")
    body.append("<h2>Per tag</h2>" + _tag_table(report))
    body.append(f"<h2>Worst {WORST} cases</h2>" + _worst_table(report))
    body.append(
        f"<h2>{SAMPLED} answers to read</h2><p class='meta'>Sampled at random (fixed seed) from the answered "
        "questions, shown as the user reads them, with the rubric of a good answer.</p>" + _sampled(report)
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Eval report · {escape(run.model)} · {escape(run.timestamp)}</title>"
        f"<style>{CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )


def _gate(gate: GateResult) -> str:
    status = '<span class="pass">passed</span>' if gate.passed else '<span class="fail">FAILED</span>'
    rows = "".join(
        f"<tr><td>{c.kind}</td><td>{escape(c.split or 'all')}</td><td>{escape(c.metric)}</td>"
        f"<td class='n'>{fmt(c.metric, c.value)}</td>"
        f"<td class='n'>{fmt(c.metric, c.limit)}</td>"
        f"<td>{_verdict(c)}</td></tr>"
        for c in gate.checks
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in gate.notes)
    flipped = "".join(
        f"<li><code>{escape(f.id)}</code>: {escape('; '.join(f.failures))}</li>" for f in gate.newly_failing
    )
    return (
        f'<h2 id="gate">Gate: {status}</h2><table><tr><th>check</th><th>split</th><th>metric</th><th>value</th>'
        f"<th>limit</th><th></th></tr>{rows}</table>"
        + (f"<ul>{notes}</ul>" if notes else "")
        + (f"<p>Cases that flipped from pass to fail:</p><ul class='why'>{flipped}</ul>" if flipped else "")
    )


def _verdict(c) -> str:
    if c.ok:
        return "<span class=pass>ok</span>"
    return "<span class=fail>FAIL</span>" if c.blocking else "<span class=fail>target missed</span>"


def _cards(report: Report) -> str:
    cards = []
    for name, label in HEADLINES:
        value = report.overall.value(name)
        if value is None or (name.endswith("tokens") and not value):
            continue
        cards.append(f'<div class="card"><b>{fmt(name, value)}</b><span>{escape(label)}</span></div>')
    return '<div class="cards">' + "".join(cards) + "</div>"


TAG_SERIES = {
    "pass rate": "pass_rate",
    "recall@k": "retrieval_recall_at_k",
    "fact coverage": "fact_coverage",
    "triage accuracy": "triage_accuracy",
}


def _tag_chart(report: Report) -> str:
    rows = [("overall", report.overall), *report.by_tag.items()]
    series = {label: [m.value(name) for _, m in rows] for label, name in TAG_SERIES.items()}
    return grouped_bars([tag for tag, _ in rows], series, "Per tag")


def _latency_chart(report: Report) -> str:
    latencies = [c.latency_ms for c in report.cases if c.error is None]
    return histogram(latencies, "Latency per case")


def _tag_table(report: Report) -> str:
    head = "".join(f"<th>{escape(LABELS[n])}</th>" for n in TABLE_COLUMNS)
    rows = [("overall", report.overall), *report.by_tag.items()]
    body = "".join(
        f"<tr><td>{'<b>' + tag + '</b>' if tag == 'overall' else escape(tag)}</td>"
        + "".join(f"<td class='n'>{fmt(n, m.value(n))}</td>" for n in TABLE_COLUMNS)
        + "</tr>"
        for tag, m in rows
    )
    return f"<table><tr><th>tag</th>{head}</tr>{body}</table>"


def worst(cases: list[CaseResult], n: int = WORST) -> list[CaseResult]:
    """Failing cases first, the most reasons first, then the least fact coverage, then the slowest."""

    def badness(c: CaseResult):
        return (
            c.passed,
            -len(c.failures),
            c.fact_coverage if c.fact_coverage is not None else 1.0,
            -c.latency_ms,
        )

    return sorted(cases, key=badness)[:n]


def _judged(c: CaseResult) -> str:
    if c.judge is None:
        return ""
    if c.judge.error:
        return f" · judge error: {escape(c.judge.error[:80])}"
    faithful, relevant = fmt("faithfulness", c.judge.faithfulness), fmt("answer_relevance", c.judge.relevance)
    return f" · faithfulness {faithful}, relevance {relevant}"


def _worst_table(report: Report) -> str:
    rows = []
    for c in worst(report.cases):
        status = '<span class="pass">pass</span>' if c.passed else '<span class="fail">fail</span>'
        citations = "".join(
            f"<li>[{x.number}] {escape(x.title)} <code>{escape(x.source_id)}</code>"
            f"{'' if x.valid is None else (' ✓' if x.valid else ' ✗')}</li>"
            for x in c.citations
        )
        why = "".join(f"<li>{escape(f)}</li>" for f in c.failures)
        rows.append(
            f"<tr><td><code>{escape(c.id)}</code><br>{status}<br>"
            f"<small>{escape(', '.join(c.tags))}</small></td>"
            f"<td>{escape(c.question)}<br><small>expected {escape(c.expected_triage)}, "
            f"got {escape(c.triage or 'error')} · {c.latency_ms:.0f} ms{_judged(c)}</small></td>"
            f"<td><div class='answer'>{escape(c.answer or c.error or '')}</div></td>"
            f"<td><ul class='cit'>{citations}</ul></td><td><ul class='why'>{why}</ul></td></tr>"
        )
    return (
        '<table id="worst-cases"><tr><th>case</th><th>question</th><th>answer</th><th>citations</th>'
        f"<th>why it failed</th></tr>{''.join(rows)}</table>"
    )


def _split_table(report: Report) -> str:
    """Dev and test side by side, with the gap between them."""
    splits = list(report.by_split.items())
    if len(splits) < 2:
        return ""
    head = "".join(f"<th>{escape(name)}</th>" for name, _ in splits)
    rows = []
    for name, label in HEADLINES:
        values = [m.value(name) for _, m in splits]
        if all(v is None for v in values):
            continue
        gap = fmt(name, abs(values[0] - values[1])) if None not in values else "–"
        cells = "".join(f"<td class='n'>{fmt(name, v)}</td>" for v in values)
        rows.append(f"<tr><td>{escape(label)}</td>{cells}<td class='n'>{gap}</td></tr>")
    return f"<table id='splits'><tr><th>metric</th>{head}<th>gap</th></tr>{''.join(rows)}</table>"


def rubric(c: CaseResult) -> dict[str, bool | None]:
    """The good-answer rubric of one answered case, read from its text."""
    return {
        "direct": c.direct,
        "language": None if c.body_language is None else c.body_language == c.language,
        "whole": not c.fragments,
        "sources": c.retrieval_hit if c.cited is None else (c.cited and c.retrieval_hit is not False),
    }


def sampled(cases: list[CaseResult], n: int = SAMPLED, seed: int = 7) -> list[CaseResult]:
    answered = [c for c in cases if c.expected_triage == "answer" and c.triage == "answer" and c.answer]
    return random.Random(seed).sample(answered, min(n, len(answered)))


def _mark(value: bool | None) -> str:
    return "–" if value is None else ("<span class=pass>✓</span>" if value else "<span class=fail>✗</span>")


def _sampled(report: Report) -> str:
    rows = []
    for c in sampled(report.cases):
        marks = rubric(c)
        checks = "".join(f"<li>{_mark(marks[key])} {escape(label)}</li>" for key, label in RUBRIC)
        rows.append(
            f"<tr><td><code>{escape(c.id)}</code><br><small>{escape(c.split or '')} · {escape(c.language)}"
            f"</small></td><td>{escape(c.question)}</td><td><div class='answer full'>{escape(c.answer or '')}"
            f"</div></td><td><ul class='cit'>{checks}</ul></td></tr>"
        )
    return (
        "<table id='sampled-answers'><tr><th>case</th><th>question</th><th>answer</th><th>rubric</th></tr>"
        + "".join(rows)
        + "</table>"
    )
