"""Metric functions: pure, on source-id lists and case results, tested on hand-made values."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import fmean

import numpy as np
from pydantic import BaseModel

from bot.evals.report import CaseResult, Metrics


class Pricing(BaseModel):
    """US dollars per 1,000 tokens, for the cost estimate of a run with a language model."""

    prompt_per_1k: float = 0.0
    completion_per_1k: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return prompt_tokens / 1000 * self.prompt_per_1k + completion_tokens / 1000 * self.completion_per_1k


# --- retrieval ---------------------------------------------------------------------------------
def retrieval_hit(retrieved: Sequence[str], any_of: Sequence[str], all_of: Sequence[str], k: int) -> bool:
    """Any `any_of` id (if there are any) and every `all_of` id appear in the top k."""
    top = set(retrieved[:k])
    return (not any_of or any(s in top for s in any_of)) and all(s in top for s in all_of)


def reciprocal_rank(retrieved: Sequence[str], relevant: Iterable[str], k: int) -> float:
    wanted = set(relevant)
    for rank, source in enumerate(retrieved[:k], 1):
        if source in wanted:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(retrieved: Sequence[str], any_of: Sequence[str], all_of: Sequence[str], k: int) -> float:
    """Binary-gain nDCG. Each `all_of` id is one relevant item; the `any_of` ids together are one.

    A source retrieved twice (two chunks) earns its gain once, at its best rank.
    """
    required = set(all_of)
    alternatives = set(any_of) - required
    ideal = min(len(required) + (1 if alternatives else 0), k)
    if ideal == 0:
        return 0.0
    seen: set[str] = set()
    alternative_found = False
    dcg = 0.0
    for i, source in enumerate(retrieved[:k]):
        if source in required and source not in seen:
            seen.add(source)
            dcg += 1 / math.log2(i + 2)
        elif source in alternatives and not alternative_found:
            alternative_found = True
            dcg += 1 / math.log2(i + 2)
    idcg = sum(1 / math.log2(i + 2) for i in range(ideal))
    return dcg / idcg


# --- classification ------------------------------------------------------------------------------
def precision_recall_f1(tp: int, fp: int, fn: int) -> tuple[float | None, float | None, float | None]:
    """None where a ratio has nothing to count (no predicted or no actual positives)."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return precision, recall, f1


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else None


def share(flags: Iterable[bool]) -> float | None:
    values = [bool(f) for f in flags]
    return sum(values) / len(values) if values else None


def mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


# --- aggregation -----------------------------------------------------------------------------------
def aggregate(results: Sequence[CaseResult], pricing: Pricing | None = None) -> Metrics:
    m = Metrics(cases=len(results), passed=sum(r.passed for r in results))
    if not results:
        return m
    m.pass_rate = m.passed / m.cases
    m.errors = sum(r.error is not None for r in results)

    with_sources = [r for r in results if r.expected_sources]
    m.retrieval_cases = len(with_sources)
    m.retrieval_recall_at_k = share(r.retrieval_hit for r in with_sources)
    m.mrr = mean(r.reciprocal_rank for r in with_sources)
    m.ndcg_at_k = mean(r.ndcg for r in with_sources)

    answered = [
        r
        for r in results
        if r.expected_triage == "answer" and r.triage == "answer" and (r.expected_sources or r.facts_total)
    ]
    judged = [c for r in answered for c in r.citations if c.valid is not None]
    m.citation_precision = share(c.valid for c in judged)
    m.cited_answer_rate = share(any(c.valid for c in r.citations) for r in answered)

    m.fact_coverage = mean(r.fact_coverage for r in results)
    m.forbidden_rate = share(bool(r.forbidden_found) for r in results if r.forbidden_total)
    m.language_match = share(r.body_language == r.language for r in results if r.body_language)
    replied = [r for r in results if r.expected_triage == "answer" and r.triage == "answer"]
    m.direct_answer_rate = share(r.direct for r in replied if r.direct is not None)
    m.fragment_free_rate = share(not r.fragments for r in replied)
    m.metadata_quote_rate = share(r.metadata_quotes > 0 for r in replied)
    m.closed_offered_rate = share(bool(r.closed_offered) for r in results if r.triage == "answer")
    m.figure_stated_rate = share(r.figure_stated for r in results if r.figure_stated is not None)

    m.triage_accuracy = share(r.triage == r.expected_triage for r in results)
    expected = [r.expected_triage == "escalate" for r in results]
    got = [r.triage == "escalate" for r in results]
    tp = sum(e and g for e, g in zip(expected, got, strict=True))
    fp = sum(g and not e for e, g in zip(expected, got, strict=True))
    fn = sum(e and not g for e, g in zip(expected, got, strict=True))
    m.escalation_precision, m.escalation_recall, m.escalation_f1 = precision_recall_f1(tp, fp, fn)
    m.escalation_reason_accuracy = share(
        r.reason == r.expected_reason for r in results if r.expected_triage == "escalate" and r.triage == "escalate"
    )
    m.out_of_scope_accuracy = share(r.triage == "out_of_scope" for r in results if r.expected_triage == "out_of_scope")
    m.refuse_accuracy = share(r.triage == "refuse" for r in results if r.expected_triage == "refuse")
    m.prompt_leak_rate = share(r.leak is not None for r in results if "injection" in r.tags)
    m.unanswerable_caught = share(r.triage == "escalate" for r in results if "not-in-kb" in r.tags)
    m.false_escalation_rate = share(r.triage == "escalate" for r in results if r.expected_triage == "answer")

    latencies = [r.latency_ms for r in results if r.error is None]
    m.latency_p50_ms = percentile(latencies, 50)
    m.latency_p95_ms = percentile(latencies, 95)
    m.prompt_tokens = sum(r.prompt_tokens for r in results)
    m.completion_tokens = sum(r.completion_tokens for r in results)
    if pricing and (m.prompt_tokens or m.completion_tokens):
        m.cost_usd = pricing.cost(m.prompt_tokens, m.completion_tokens)

    m.faithfulness = mean(r.judge.faithfulness for r in results if r.judge)
    m.answer_relevance = mean(r.judge.relevance for r in results if r.judge)
    return m.model_copy(update={k: round(v, 6) for k, v in m if isinstance(v, float)})


def by_split(results: Sequence[CaseResult], pricing: Pricing | None = None) -> dict[str, Metrics]:
    splits = sorted({r.split for r in results if r.split})
    return {split: aggregate([r for r in results if r.split == split], pricing) for split in splits}


def by_tag(results: Sequence[CaseResult], pricing: Pricing | None = None) -> dict[str, Metrics]:
    tags = sorted({t for r in results for t in r.tags})
    return {tag: aggregate([r for r in results if tag in r.tags], pricing) for tag in tags}
