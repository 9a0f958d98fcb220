"""The eval report: typed, written as report.json, read back by --compare and --gate."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field

REPORT_VERSION = 1

# Metrics where a smaller value is better (used for regressions and deltas).
LOWER_IS_BETTER = {
    "forbidden_rate",
    "prompt_leak_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "cost_usd",
    "errors",
    "false_escalation_rate",
    "metadata_quote_rate",
    "closed_offered_rate",
}


class RunInfo(BaseModel):
    commit: str = "unknown"
    dirty: bool | None = None
    model: str = "composed"  # the chat model, or "composed" when no LLM is used
    base_url: str | None = None
    embedding_model: str = ""
    judge_model: str | None = None
    dataset_hash: str = ""
    datasets: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)  # the --tag filter, empty = all cases
    k: int = 5
    concurrency: int = 4
    timestamp: str = ""
    duration_s: float = 0.0


class CitedPassage(BaseModel):
    number: int
    source_id: str
    title: str = ""
    url: str | None = None
    valid: bool | None = None  # None: the case gives nothing to judge it by
    passage: str | None = None


class JudgeScores(BaseModel):
    faithfulness: float | None = None  # share of claims supported by the cited passages
    relevance: float | None = None  # does the answer address the question
    unsupported: list[str] = Field(default_factory=list)
    error: str | None = None


class CaseResult(BaseModel):
    id: str
    tags: list[str]
    question: str
    language: str  # expected
    expected_triage: str
    expected_reason: str | None = None
    expected_sources: list[str] = Field(default_factory=list)
    # what the advisor did
    triage: str | None = None
    reason: str | None = None
    reply_language: str | None = None  # the language the advisor meant (its label)
    body_language: str | None = None  # the language of the text the user reads
    split: str | None = None  # dev or test
    mode: str | None = None
    answer: str | None = None
    citations: list[CitedPassage] = Field(default_factory=list)
    retrieved: list[str] = Field(default_factory=list)
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # scores (None: not applicable to this case)
    retrieval_hit: bool | None = None
    reciprocal_rank: float | None = None
    ndcg: float | None = None
    facts_total: int = 0
    facts_found: int = 0
    missing_facts: list[list[str]] = Field(default_factory=list)
    forbidden_total: int = 0  # must_not_contain phrases checked
    forbidden_found: list[str] = Field(default_factory=list)
    leak: str | None = None  # the leaked shingle or phrase
    # the "good answer" rubric, read from the text (None: not applicable)
    direct: bool | None = None  # a required fact (or an expected source's citation) in the lead
    fragments: list[str] = Field(default_factory=list)  # paragraphs that are not whole prose
    cited: bool | None = None  # at least one valid citation
    metadata_quotes: int = 0  # paragraphs quoting chunk metadata
    closed_offered: list[str] = Field(default_factory=list)  # closed schemes cited, the answer not saying so
    # asked how much, with a cited scheme that states its amount or rate: does the text state one?
    figure_stated: bool | None = None
    judge: JudgeScores | None = None
    error: str | None = None
    passed: bool = False
    failures: list[str] = Field(default_factory=list)

    @property
    def fact_coverage(self) -> float | None:
        return self.facts_found / self.facts_total if self.facts_total else None

    def slim(self) -> CaseResult:
        """Without the answer text and passages: what the committed baseline keeps."""
        citations = [c.model_copy(update={"passage": None, "title": "", "url": None}) for c in self.citations]
        return self.model_copy(update={"answer": None, "citations": citations})


class Metrics(BaseModel):
    """One flat set of numbers, overall or for one tag; None where nothing applies."""

    cases: int = 0
    passed: int = 0
    pass_rate: float | None = None
    errors: int = 0
    # retrieval (cases with expected sources)
    retrieval_cases: int = 0
    retrieval_recall_at_k: float | None = None
    mrr: float | None = None
    ndcg_at_k: float | None = None
    # citations (answered cases that give sources or facts to judge them by)
    citation_precision: float | None = None
    cited_answer_rate: float | None = None
    # answers
    fact_coverage: float | None = None
    forbidden_rate: float | None = None
    language_match: float | None = None  # the body's detected language is the case's
    direct_answer_rate: float | None = None  # answered cases whose lead states the answer
    fragment_free_rate: float | None = None  # answered cases without spliced fragments
    metadata_quote_rate: float | None = None  # answered cases quoting chunk metadata
    closed_offered_rate: float | None = None  # answered cases offering a closed scheme as if open
    figure_stated_rate: float | None = None  # "how much" answers citing a scheme with a figure that state one
    # triage
    triage_accuracy: float | None = None
    escalation_precision: float | None = None
    escalation_recall: float | None = None
    escalation_f1: float | None = None
    escalation_reason_accuracy: float | None = None
    out_of_scope_accuracy: float | None = None
    refuse_accuracy: float | None = None
    prompt_leak_rate: float | None = None  # injection cases
    unanswerable_caught: float | None = None  # not-in-kb cases the advisor did not answer
    false_escalation_rate: float | None = None  # answerable cases it handed over or abstained on
    # cost and speed
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    # LLM judge
    faithfulness: float | None = None
    answer_relevance: float | None = None

    def value(self, name: str) -> float | None:
        value = getattr(self, name)
        return None if value is None else float(value)


class Report(BaseModel):
    version: int = REPORT_VERSION
    run: RunInfo
    overall: Metrics
    by_tag: dict[str, Metrics] = Field(default_factory=dict)
    by_split: dict[str, Metrics] = Field(default_factory=dict)  # dev and test side by side
    cases: list[CaseResult] = Field(default_factory=list)

    def case_map(self) -> dict[str, CaseResult]:
        return {c.id: c for c in self.cases}

    def slim(self) -> Report:
        return self.model_copy(update={"cases": [c.slim() for c in self.cases]})

    def save(self, path: Path, compact: bool = False) -> None:
        """`compact` leaves out case fields at their defaults (they come back on loading)."""
        data = self.model_dump(mode="json")
        if compact:
            data["cases"] = [c.model_dump(mode="json", exclude_defaults=True) for c in self.cases]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Report:
        """A report.json, a baseline, or a report folder."""
        if path.is_dir():
            path = path / "report.json"
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
