"""Fit the answerability model on the dev split: `python -m bot.evals.calibrate`.

Only `evals/datasets/dev/` is read: the test split is for measuring, never for choosing a
weight or a threshold. The cases that train it are the answerable questions (expected
`answer`) and the unanswerable ones (tagged `not-in-kb`); questions decided before retrieval
(a request for a person, injections, off-topic) carry no answerability signals.

The threshold is chosen on out-of-fold probabilities (5-fold cross-validation on dev), so it
is not fitted to the same predictions it is judged by: the highest F1 on catching unanswerable
questions among thresholds that escalate at most `--max-false-escalations` of the answerable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
import yaml
from rich.console import Console

from bot.advisor.answerability import FEATURES, MODEL, FittedModel, Signals
from bot.evals.dataset import dataset_hash, default_datasets, load_cases
from bot.evals.runner import request_for
from bot.evals.schema import EvalCase, Tag

REGULARISATION = (0.03, 0.1, 0.3, 1.0, 3.0)  # LogisticRegression's C, chosen out of fold
SHUFFLES = 5
console = Console()
app = typer.Typer(add_completion=False)


def training_cases(cases: list[EvalCase]) -> list[tuple[EvalCase, int]]:
    """(case, 1 if the knowledge base cannot answer it) for the cases the model decides."""
    out = []
    for case in cases:
        if case.split == "test":
            raise ValueError(f"{case.id}: the test split must not be used for calibration")
        if Tag.not_in_kb in case.tags:
            out.append((case, 1))
        elif case.expected_triage.value == "answer":
            out.append((case, 0))
    return out


async def collect(advisor, cases: list[tuple[EvalCase, int]]) -> tuple[list[Signals], list[int], list[str]]:
    signals, labels, ids = [], [], []
    for case, label in cases:
        prepared = await advisor.prepare(request_for(case))
        if prepared.signals is None:  # decided before retrieval: not the model's question
            continue
        signals.append(prepared.signals)
        labels.append(label)
        ids.append(case.id)
    return signals, labels, ids


def choose_threshold(y: np.ndarray, p: np.ndarray, max_false: float) -> tuple[float, dict[str, float]]:
    """The threshold with the best F1 on unanswerable questions among those that escalate at most
    `max_false` of the answerable ones (on out-of-fold probabilities)."""
    best: tuple[float, float, dict[str, float]] | None = None
    for t in np.unique(np.round(p, 4)):
        flagged = p >= t
        tp = int(np.sum(flagged & (y == 1)))
        fp = int(np.sum(flagged & (y == 0)))
        fn = int(np.sum(~flagged & (y == 1)))
        false_rate = fp / max(1, int(np.sum(y == 0)))
        if false_rate > max_false:
            continue
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        stats = {"f1": f1, "caught": tp / max(1, tp + fn), "false_escalations": false_rate}
        if best is None or f1 > best[1]:
            best = (float(t), f1, stats)
    if best is None:
        raise RuntimeError("no threshold keeps false escalations under the limit")
    return best[0], best[2]


def fit(signals: list[Signals], labels: list[int], max_false: float, folds: int = 5) -> FittedModel:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.asarray([s.vector() for s in signals], dtype=float)
    y = np.asarray(labels)

    def model(c: float):
        return make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", C=c, max_iter=1000))

    def out_of_fold(c: float) -> np.ndarray:
        """Mean out-of-fold probability over a few shuffles: 5 folds of a small set are noisy."""
        runs = [
            cross_val_predict(
                model(c), x, y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed), method="predict_proba"
            )[:, 1]
            for seed in range(SHUFFLES)
        ]
        return np.mean(runs, axis=0)

    # The regularisation strength is chosen like the threshold: by what it catches out of fold.
    scored = []
    for c in REGULARISATION:
        probabilities = out_of_fold(c)
        threshold, stats = choose_threshold(y, probabilities, max_false)
        scored.append((stats["caught"], c, threshold, stats))
    # Most caught; on a tie the best F1 (fewer false escalations), then the stronger regularisation.
    _, c, threshold, stats = max(scored, key=lambda t: (t[0], t[3]["f1"], -t[1]))
    final = model(c).fit(x, y)
    scaler, regression = final.steps[0][1], final.steps[1][1]
    return FittedModel(
        features=list(FEATURES),
        mean=[round(float(v), 6) for v in scaler.mean_],
        scale=[round(float(v), 6) for v in scaler.scale_],
        coef=[round(float(v), 6) for v in regression.coef_[0]],
        intercept=round(float(regression.intercept_[0]), 6),
        threshold=round(threshold, 4),
        fitted_on={
            "split": "dev",
            "answerable": int(np.sum(y == 0)),
            "unanswerable": int(np.sum(y == 1)),
            "regularisation_c": c,
            "cross_validated": {k: round(v, 3) for k, v in stats.items()},
            "max_false_escalations": max_false,
        },
    )


@app.command()
def main(
    out: Annotated[Path, typer.Option(help="Where to write the model.")] = MODEL,
    max_false_escalations: Annotated[
        float, typer.Option(help="Largest share of answerable questions escalated.")
    ] = 0.03,
) -> None:
    """Fit the answerability model on the dev split and write its coefficients."""
    from bot.evals.cli import _advisor, _settings

    files = default_datasets(["dev"])
    cases = training_cases(load_cases(files))
    advisor = _advisor(_settings(None, None))
    advisor.answerability.model = None  # signals only; the decision is what we are fitting
    signals, labels, _ = asyncio.run(collect(advisor, cases))
    fitted = fit(signals, labels, max_false_escalations)
    fitted.fitted_on["dataset_hash"] = dataset_hash(files)[:16]
    fitted.fitted_on["date"] = dt.date.today().isoformat()
    header = "# Fitted by `python -m bot.evals.calibrate` on the dev split; do not edit by hand.\n"
    out.write_text(header + yaml.safe_dump(fitted.model_dump(), sort_keys=False, allow_unicode=True), encoding="utf-8")
    console.print(f"{len(labels)} cases ({sum(labels)} unanswerable); cross-validated on dev: {fitted.fitted_on}")
    for name, weight in zip(fitted.features, fitted.coef, strict=True):
        console.print(f"  {name:20} {weight:+.3f}")
    console.print(f"threshold {fitted.threshold} → {out}")


if __name__ == "__main__":
    app()
