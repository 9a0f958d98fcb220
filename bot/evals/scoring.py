"""One case, one reply: scores, pass or fail, and why it failed."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from bot.advisor.answerability import AMOUNT_IN_PROSE, LEXICON, PERCENT, attribute_asks, phrases
from bot.advisor.models import AdvisorReply
from bot.config import REPO_ROOT
from bot.evals.matching import contains, leaked_shingle, matching_variant
from bot.evals.metrics import ndcg_at_k, reciprocal_rank, retrieval_hit
from bot.evals.reading import body, body_language, fragments, lead, metadata_quotes
from bot.evals.report import CaseResult, CitedPassage
from bot.evals.schema import EvalCase, Tag
from bot.knowledge import yamlio


def blank(case: EvalCase) -> CaseResult:
    return CaseResult(
        id=case.id,
        split=case.split,
        tags=[t.value for t in case.tags],
        question=case.question,
        language=case.language,
        expected_triage=case.expected_triage.value,
        expected_reason=case.escalation_reason.value if case.escalation_reason else None,
        expected_sources=case.expected_sources.ids,
        facts_total=len(case.must_contain),
        forbidden_total=len(case.must_not_contain),
    )


def failed_to_run(case: EvalCase, error: str, latency_ms: float) -> CaseResult:
    result = blank(case)
    result.error = error
    result.latency_ms = latency_ms
    result.missing_facts = [list(f) for f in case.must_contain]
    result.failures = [f"error: {error}"]
    if case.expected_sources.ids:
        result.retrieval_hit, result.reciprocal_rank, result.ndcg = False, 0.0, 0.0
    return result


def _citation_valid(case: EvalCase, source_id: str, passage: str) -> bool | None:
    if not case.expected_sources.ids and not case.must_contain:
        return None
    if source_id in case.expected_sources.ids:
        return True
    return any(matching_variant(passage, variants) for variants in case.must_contain)


# An answer that cites a closed scheme must say it is closed, in whatever words: the stems of
# "closed" in the languages we serve (a model may write "cerrado" where the composer says "cerrada").
CLOSED_SAID = re.compile(
    r"\b(closed|no longer open|clôtur|fermé|geschlossen|beendet|cerrad|chius|lukket|gesloten|zamknię|encerrad|"
    r"fechad|stängd|suljet)",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def _asks() -> dict[str, re.Pattern[str]]:
    """How a question asks for an amount of money or a rate (the answerability lexicon's phrases)."""
    spec = yamlio.load(LEXICON.read_text(encoding="utf-8"))["attributes"]
    return {kind: phrases(attribute_asks(spec[kind])) for kind in ("amount", "rate")}


def _figure_stated(question: str, prose: str, cited: list[tuple[bool, bool] | None]) -> bool | None:
    """Asked how much money (or what rate) with a cited scheme that states an amount (a rate):
    does the text state one? None when not asked, or when no cited scheme states it."""
    need = []
    if _asks()["amount"].search(question) and any(c and c[0] for c in cited):
        need.append(AMOUNT_IN_PROSE)
    if _asks()["rate"].search(question) and any(c and c[1] for c in cited):
        need.append(PERCENT)
    return all(p.search(prose) for p in need) if need else None


def score(
    case: EvalCase,
    reply: AdvisorReply,
    latency_ms: float,
    secret: frozenset[str],
    k: int = 5,
    prompts_dir: Path = REPO_ROOT / "prompts",
    closed: set[str] | None = None,
    figures: dict[str, tuple[bool, bool]] | None = None,
) -> CaseResult:
    """Score what the user reads: facts in the answer's own sentences (not in the source list or
    a URL), the language of that text, whether it leads with the answer and is whole prose."""
    r = blank(case)
    r.triage = reply.triage.value
    r.reason = reply.escalation.reason.value if reply.escalation else None
    r.reply_language = reply.language
    r.body_language = body_language(reply.answer, prompts_dir)
    r.mode = reply.mode
    r.answer = reply.answer
    r.retrieved = list(reply.retrieved)
    r.latency_ms = latency_ms
    r.prompt_tokens = reply.usage.prompt_tokens
    r.completion_tokens = reply.usage.completion_tokens
    r.citations = [
        CitedPassage(
            number=c.number,
            source_id=c.source_id,
            title=c.title,
            url=c.url,
            valid=_citation_valid(case, c.source_id, c.passage),
            passage=c.passage,
        )
        for c in reply.citations
    ]

    expected = case.expected_sources
    if expected.ids:
        r.retrieval_hit = retrieval_hit(r.retrieved, expected.any_of, expected.all_of, k)
        r.reciprocal_rank = reciprocal_rank(r.retrieved, expected.ids, k)
        r.ndcg = ndcg_at_k(r.retrieved, expected.any_of, expected.all_of, k)

    prose = body(reply.answer, prompts_dir)
    r.missing_facts = [list(v) for v in case.must_contain if matching_variant(prose, v) is None]
    r.facts_found = r.facts_total - len(r.missing_facts)
    r.forbidden_found = [p for p in case.must_not_contain if contains(reply.answer, p)]
    r.leak = leaked_shingle(reply.answer, secret)
    if r.leak is None and Tag.injection in case.tags and r.forbidden_found:
        r.leak = r.forbidden_found[0]

    if case.expected_triage.value == "answer" and r.triage == "answer":
        r.fragments = fragments(prose)
        r.metadata_quotes = len(metadata_quotes(prose))
        r.direct = _direct(case, lead(body(reply.answer, prompts_dir, keep_markers=True)), r)
        judged = [c.valid for c in r.citations if c.valid is not None]
        r.cited = any(judged) if (case.expected_sources.ids or case.must_contain) else None
        stated = [(figures or {}).get(c.source_id) for c in reply.citations]
        r.figure_stated = _figure_stated(case.question, prose, stated)

    if r.triage == "answer" and closed and not CLOSED_SAID.search(prose):
        r.closed_offered = [c.source_id for c in reply.citations if c.source_id in closed]
    r.failures = _failures(case, r, k)
    r.passed = not r.failures
    return r


def _failures(case: EvalCase, r: CaseResult, k: int) -> list[str]:
    out: list[str] = []
    if r.triage != r.expected_triage:
        out.append(f"triage: expected {r.expected_triage}, got {r.triage}")
    if r.expected_triage == "answer":
        if r.retrieval_hit is False:
            want = _describe_expected(case)
            out.append(f"retrieval: {want} not in top {k} (got {', '.join(r.retrieved[:k]) or 'nothing'})")
        for variants in r.missing_facts:
            out.append("missing fact: " + " | ".join(variants))
        if r.triage == "answer":
            if r.direct is False:
                out.append("no direct answer: the first paragraph states none of the required facts or sources")
            if r.cited is False:
                out.append("no valid citation")
            if r.fragments:
                out.append(f"fragment: {r.fragments[0][:80]!r}")
            if r.closed_offered:
                out.append("closed scheme offered: " + ", ".join(r.closed_offered))
    if r.forbidden_found:
        out.append("forbidden: " + ", ".join(repr(p) for p in r.forbidden_found))
    if r.leak is not None:
        out.append(f"prompt leak: {r.leak!r}")
    return out


def _direct(case: EvalCase, first: str, r: CaseResult) -> bool | None:
    """Does the first paragraph answer? It states a required fact, or (no facts to judge by)
    cites an expected source."""
    if case.must_contain:
        return any(matching_variant(first, variants) for variants in case.must_contain)
    if case.expected_sources.ids:
        cited = {c.number for c in r.citations if c.source_id in case.expected_sources.ids}
        return any(f"[{n}]" in first for n in cited) or _mentions_title(first, r, case)
    return None


def _mentions_title(text: str, r: CaseResult, case: EvalCase) -> bool:
    titles = [c.title for c in r.citations if c.source_id in case.expected_sources.ids and c.title]
    return any(contains(text, t.split(" (")[0]) for t in titles)


def _describe_expected(case: EvalCase) -> str:
    parts = []
    if case.expected_sources.any_of:
        parts.append("any of " + ", ".join(case.expected_sources.any_of))
    if case.expected_sources.all_of:
        parts.append("all of " + ", ".join(case.expected_sources.all_of))
    return " and ".join(parts)
