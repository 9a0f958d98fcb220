"""Prometheus metrics: the objects every part of the app increments, defined once here.

Names follow Prometheus conventions (`_total` counters, `_seconds` histograms, low-cardinality
labels: never a user, chat or question). Others increment them directly, e.g. the escalation
module: `ESCALATIONS.labels(reason="human_requested").inc()`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info

UPDATES = Counter(
    "advisor_telegram_updates_total",
    "Telegram updates received, by outcome: handled, duplicate (a redelivery), ignored (edits), failed.",
    ["outcome"],
)
ANSWERS = Counter(
    "advisor_answers_total",
    "Advisor replies, by mode (generated, composed, fallback, scope, refusal, handover) and triage decision.",
    ["mode", "triage"],
)
ANSWER_SECONDS = Histogram(
    "advisor_answer_seconds",
    "From a question's arrival to its stored reply (retrieval, generation and storage), by mode.",
    ["mode"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60, 120),
)
ESCALATIONS = Counter(
    "advisor_escalations_total",
    "Conversations handed to a human ambassador, by reason.",
    ["reason"],
)
LLM_ERRORS = Counter(
    "advisor_llm_errors_total",
    "Answers the language model failed to write (timeouts, errors, unusable output); the composed fallback answered.",
)
LLM_CIRCUIT_STATE = Gauge(
    "advisor_llm_circuit_state",
    "The language-model circuit breaker: 0 closed, 1 open (the composed fallback answers without asking the "
    "model), 2 half-open (one trial call).",
)
LLM_SHORT_CIRCUITS = Counter(
    "advisor_llm_short_circuits_total",
    "Language-model calls not made because the circuit breaker was open, by call (answer, condense).",
    ["call"],
)
AMBASSADORS_FILE_VALID = Gauge(
    "advisor_ambassadors_file_valid",
    "1 while the ambassador directory file is valid; 0 while it is not and the last valid directory stays in use.",
)
ERRORS = Counter(
    "advisor_errors_total",
    "Answer-pipeline errors that are not model faults (those get the composed fallback), by stage and exception type.",
    ["stage", "type"],
)
LLM_TOKENS = Counter(
    "advisor_llm_tokens_total",
    "Tokens used by generated answers, as reported by the endpoint, by kind (prompt, completion).",
    ["kind"],
)
RETENTION_DELETED = Counter(
    "advisor_retention_deleted_rows_total",
    "Rows deleted by the retention purge, by table.",
    ["table"],
)
GC_PAUSE_SECONDS = Histogram(
    "advisor_gc_pause_seconds",
    "Garbage collections, each a pause of the event loop, by generation (2: a full collection).",
    ["generation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5),
)
BUILD = Info("advisor_build", "Version and configuration of the running advisor.")


def observe_answer(mode: str, triage: str, seconds: float, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
    ANSWERS.labels(mode=mode, triage=triage).inc()
    ANSWER_SECONDS.labels(mode=mode).observe(seconds)
    if mode == "fallback":
        LLM_ERRORS.inc()
    if prompt_tokens:
        LLM_TOKENS.labels(kind="prompt").inc(prompt_tokens)
    if completion_tokens:
        LLM_TOKENS.labels(kind="completion").inc(completion_tokens)
