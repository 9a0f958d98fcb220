"""Fit the learned intents on the dev split: `python -m bot.evals.fit_intents`.

Only `evals/datasets/dev/` is read, with the triager's exemplars (triage.yaml: requests for a
person and injections, in-scope and off-topic questions) as one more held-out group. Each intent
is a logistic regression over the embedding of the user's words, as the advisor reads them
(typos corrected). Its regularisation and threshold are chosen out of fold with one group held
out at a time, so a wording is judged by a model that never saw its file: the most requests
caught with no answerable or off-topic question taken for one (a chore like "write me a cover
letter" is declined, not refused), then the higher threshold. An off-topic question must take no
question of ours (a follow-up is never judged off-topic, so none counts); a verdict on the
firm's own case no answerable or off-topic one (PROTECTED).
`--intent NAME` refits only that intent and keeps the others as fitted.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console

from bot.advisor.intents import JUDGEMENT, MODEL, OFF_TOPIC, IntentModel, LearnedIntent, load
from bot.advisor.language import detect_language
from bot.advisor.models import EscalationReason, Triage
from bot.advisor.triage import DATA as TRIAGE_DATA
from bot.advisor.triage import unit_rows
from bot.evals.dataset import dataset_hash, default_datasets, load_cases
from bot.evals.schema import EvalCase, Tag
from bot.knowledge import yamlio
from bot.knowledge.vector_cache import model_id

REGULARISATION = (1.0, 3.0, 10.0, 30.0)
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
console = Console()
app = typer.Typer(add_completion=False)

LABELS = {
    "human_request": lambda case: case.escalation_reason == EscalationReason.human_requested,
    "injection": lambda case: case.expected_triage == Triage.refuse,
    OFF_TOPIC: lambda case: case.expected_triage == Triage.out_of_scope,
    JUDGEMENT: lambda case: case.escalation_reason == EscalationReason.needs_judgement,
}
# What each must never take for itself: a request or an injection, no answerable or off-topic
# question (a chore like "write me a cover letter" is declined, not refused); off-topic, no
# question of ours, answerable or handed over.
PROTECTED = {
    "human_request": (Triage.answer, Triage.out_of_scope),
    "injection": (Triage.answer, Triage.out_of_scope),
    OFF_TOPIC: (Triage.answer, Triage.escalate),
    JUDGEMENT: (Triage.answer, Triage.out_of_scope),
}
# Declining a question of ours costs more than answering an off-topic one with "not found": the
# off-topic model only decides where it is sure.
THRESHOLDS_FOR = {OFF_TOPIC: (0.7, 0.8, 0.85, 0.9, 0.95)}
EXEMPLARS = "triage.yaml exemplars"


def exemplar_cases() -> list[EvalCase]:
    """The triager's exemplars as cases: its requests for a person escalate, its injections are
    refused, its in-scope questions are answered and its off-topic ones declined."""
    raw = yamlio.load(TRIAGE_DATA.read_text(encoding="utf-8"))
    kinds = [
        (raw["intent_exemplars"]["human_request"], Triage.escalate, EscalationReason.human_requested),
        (raw["intent_exemplars"]["injection"], Triage.refuse, None),
        (raw["in_scope"], Triage.answer, None),
        (raw["out_of_scope"], Triage.out_of_scope, None),
    ]
    cases = []
    for texts, triage, reason in kinds:
        for text in texts:
            cases.append(
                EvalCase(
                    id=f"exemplar-{len(cases)}",
                    question=text,
                    language=detect_language(text, "en"),
                    expected_triage=triage,
                    escalation_reason=reason,
                    tags=[Tag.escalation if triage == Triage.escalate else Tag.retrieval],
                )
            )
    return cases


def choose(
    x: np.ndarray,
    positive: np.ndarray,
    protected: np.ndarray,
    groups: list[str],
    thresholds: tuple[float, ...] = THRESHOLDS,
) -> tuple[float, float, dict[str, float]]:
    """(C, threshold, out-of-fold stats): the most positives caught with no protected question
    (answerable, off-topic) flagged, held out one group (dataset file) at a time."""
    from sklearn.linear_model import LogisticRegression

    best: tuple[tuple[int, float, float], float, float, dict[str, float]] | None = None
    for c in REGULARISATION:
        p = np.zeros(len(x))
        for group in sorted(set(groups)):
            held = np.asarray([g == group for g in groups])
            if positive[~held].all() or not positive[~held].any():
                continue
            model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x[~held], positive[~held])
            p[held] = model.predict_proba(x[held])[:, 1]
        for t in thresholds:
            flagged = p >= t
            if (flagged & protected).any():
                continue
            caught = int((flagged & positive).sum())
            stats = {"caught": round(caught / max(1, int(positive.sum())), 3), "protected_flagged": 0.0}
            key = (caught, t, -c)  # most caught, then the higher threshold, then stronger regularisation
            if best is None or key > best[0]:
                best = (key, c, t, stats)
    if best is None:
        raise RuntimeError("every threshold flags an answerable question")
    return best[1], best[2], best[3]


def protected_for(name: str, cases: list[EvalCase], never_off_topic: np.ndarray | None = None) -> np.ndarray:
    """The cases an intent must never take. A follow-up is never judged off-topic (the pipeline
    asks only of a conversation's first message), so "How do I apply?" holds no threshold up; nor
    does a message the pipeline decides before asking the model (`never_off_topic`)."""
    protected = np.asarray([c.expected_triage in PROTECTED[name] for c in cases])
    if name == OFF_TOPIC:
        protected &= np.asarray([not c.turns for c in cases])
        if never_off_topic is not None:
            protected &= ~never_off_topic
    return protected


def fit(
    x: np.ndarray,
    cases: list[EvalCase],
    groups: list[str],
    names: list[str] | None = None,
    never_off_topic: np.ndarray | None = None,
) -> dict[str, LearnedIntent]:
    from sklearn.linear_model import LogisticRegression

    intents = {}
    for name, label in LABELS.items():
        if names and name not in names:
            continue
        positive = np.asarray([label(c) for c in cases])
        protected = protected_for(name, cases, never_off_topic)
        c, threshold, stats = choose(x, positive, protected, groups, THRESHOLDS_FOR.get(name, THRESHOLDS))
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x, positive)
        intents[name] = LearnedIntent(
            weights=[round(float(w), 6) for w in model.coef_[0]],
            bias=round(float(model.intercept_[0]), 6),
            threshold=threshold,
            fitted_on={
                "split": "dev",
                "positive": int(positive.sum()),
                "cases": len(cases),
                "regularisation_c": c,
                "held_out_by_file": stats,
            },
        )
    return intents


@app.command()
def main(
    out: Annotated[Path, typer.Option(help="Where to write the model.")] = MODEL,
    intent: Annotated[
        list[str] | None, typer.Option(help="Fit only this intent (repeatable); the others are kept as they are.")
    ] = None,
) -> None:
    """Fit the learned intents on the dev split and write their weights."""
    unknown = set(intent or ()) - set(LABELS)
    if unknown:
        raise typer.BadParameter(f"unknown intent(s): {', '.join(sorted(unknown))}; known: {', '.join(LABELS)}")
    from bot.evals.cli import _advisor, _settings

    advisor = _advisor(_settings(None, None))
    files = default_datasets(["dev"])
    cases: list[EvalCase] = []
    groups: list[str] = []
    for path in files:
        for case in load_cases([path]):
            cases.append(case)
            groups.append(path.name)
    for case in exemplar_cases():
        cases.append(case)
        groups.append(EXEMPLARS)
    texts = []
    for case in cases:
        language = detect_language(case.question, case.profile.language)
        texts.append(advisor.speller.correct(case.question, language)[0])
    x = unit_rows(np.asarray([advisor.queries.embed_sync(t) for t in texts], dtype=np.float32))
    # The pipeline never asks the off-topic model about these, so they hold no threshold up: a
    # message it does not put to the model, and one already taken for a request for a person or an
    # injection.
    never_off_topic = np.asarray(
        [
            not advisor.put_to_off_topic_model(case.question)
            or advisor.triager.pre_retrieval(case.question) is not None
            or advisor.triager.intent(vector.tolist()) is not None
            for case, vector in zip(cases, x, strict=True)
        ]
    )
    intents = fit(x, cases, groups, intent, never_off_topic)
    for fitted in intents.values():
        fitted.fitted_on["dataset_hash"] = dataset_hash(files)[:16]
        fitted.fitted_on["date"] = dt.date.today().isoformat()
    embedding = model_id(advisor.kb.index.embeddings)
    kept = load(out) if intent and out.exists() else None
    if kept is not None and kept.embedding_model == embedding:
        intents = {**kept.intents, **intents}  # the intents not asked for stay as they were fitted
    model = IntentModel(embedding_model=embedding, intents=intents)
    out.write_text(json.dumps(model.model_dump(), indent=1) + "\n", encoding="utf-8")
    for name, fitted in intents.items():
        console.print(f"{name}: threshold {fitted.threshold}, {fitted.fitted_on}")
    console.print(f"→ {out}")


if __name__ == "__main__":
    app()
