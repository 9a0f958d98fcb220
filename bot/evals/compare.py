"""Two runs side by side: metric deltas and the cases that flipped."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.evals.gate import Flip, comparable, flips
from bot.evals.report import LOWER_IS_BETTER, Metrics, Report, RunInfo

COMPARED = [
    "pass_rate",
    "retrieval_recall_at_k",
    "mrr",
    "ndcg_at_k",
    "citation_precision",
    "cited_answer_rate",
    "fact_coverage",
    "forbidden_rate",
    "language_match",
    "unanswerable_caught",
    "false_escalation_rate",
    "direct_answer_rate",
    "triage_accuracy",
    "escalation_f1",
    "out_of_scope_accuracy",
    "refuse_accuracy",
    "prompt_leak_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "cost_usd",
    "faithfulness",
    "answer_relevance",
]


class Delta(BaseModel):
    metric: str
    a: float | None
    b: float | None

    @property
    def change(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def better(self) -> bool | None:
        """True when B improves on A, False when it is worse, None when equal or unknown."""
        change = self.change
        if not change or abs(change) < 1e-9:
            return None
        return (change < 0) if self.metric in LOWER_IS_BETTER else (change > 0)


class Comparison(BaseModel):
    a: RunInfo
    b: RunInfo
    overall: list[Delta]
    by_tag: dict[str, Delta] = Field(default_factory=dict)  # pass rate per tag
    newly_failing: list[Flip] = Field(default_factory=list)
    newly_passing: list[Flip] = Field(default_factory=list)
    only_in_a: list[str] = Field(default_factory=list)
    only_in_b: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def deltas(a: Metrics, b: Metrics, names: list[str] = COMPARED) -> list[Delta]:
    return [Delta(metric=n, a=a.value(n), b=b.value(n)) for n in names]


def compare(a: Report, b: Report) -> Comparison:
    worse, better = flips(a, b)
    ids_a, ids_b = set(a.case_map()), set(b.case_map())
    tags = sorted(set(a.by_tag) | set(b.by_tag))
    return Comparison(
        a=a.run,
        b=b.run,
        overall=deltas(a.overall, b.overall),
        by_tag={
            t: Delta(
                metric="pass_rate",
                a=a.by_tag[t].pass_rate if t in a.by_tag else None,
                b=b.by_tag[t].pass_rate if t in b.by_tag else None,
            )
            for t in tags
        },
        newly_failing=worse,
        newly_passing=better,
        only_in_a=sorted(ids_a - ids_b),
        only_in_b=sorted(ids_b - ids_a),
        notes=comparable(a, b),
    )
