"""The quality gate: headline minimums (evals/thresholds.yaml) and no regression vs the baseline."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from bot.evals.metrics import Pricing
from bot.evals.report import LOWER_IS_BETTER, Metrics, Report


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = 5
    tolerance: float = 0.02  # how much a metric may worsen vs the baseline
    minimums: dict[str, float] = Field(default_factory=dict)
    maximums: dict[str, float] = Field(default_factory=dict)
    regression: list[str] = Field(default_factory=list)  # compared with the baseline
    # The dev-test gap: a metric much better on dev than on test was tuned to dev's wording.
    max_gap: float | None = None
    gap: list[str] = Field(default_factory=list)
    pricing: Pricing = Field(default_factory=Pricing)

    @classmethod
    def load(cls, path: Path) -> Thresholds:
        thresholds = cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        unknown = [
            name
            for name in [*thresholds.minimums, *thresholds.maximums, *thresholds.regression, *thresholds.gap]
            if name not in Metrics.model_fields
        ]
        if unknown:
            raise ValueError(f"{path}: unknown metric(s): {', '.join(unknown)}")
        return thresholds


class Check(BaseModel):
    metric: str
    kind: str  # minimum, maximum, regression, gap
    value: float | None
    limit: float
    ok: bool
    split: str | None = None  # dev or test; None: all cases

    def describe(self) -> str:
        value = "n/a" if self.value is None else f"{self.value:.3f}"
        sign = {"minimum": ">=", "maximum": "<=", "gap": "|dev - test| <="}.get(self.kind, "within tolerance of")
        status = "ok" if self.ok else "FAIL"
        where = f"[{self.split}] " if self.split else ""
        return f"{status:4} {where}{self.metric} = {value} ({sign} {self.limit:.3f}, {self.kind})"


class Flip(BaseModel):
    id: str
    question: str
    failures: list[str] = Field(default_factory=list)  # why it fails now (empty for fixed cases)


class GateResult(BaseModel):
    passed: bool
    checks: list[Check] = Field(default_factory=list)
    newly_failing: list[Flip] = Field(default_factory=list)
    newly_passing: list[Flip] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def flips(before: Report, after: Report) -> tuple[list[Flip], list[Flip]]:
    """Cases (in both reports) that went pass->fail, and fail->pass."""
    old = before.case_map()
    worse, better = [], []
    for case in after.cases:
        previous = old.get(case.id)
        if previous is None or previous.passed == case.passed:
            continue
        flip = Flip(id=case.id, question=case.question, failures=case.failures)
        (better if case.passed else worse).append(flip)
    return worse, better


def comparable(before: Report, after: Report) -> list[str]:
    """Why two runs' metrics cannot be compared (empty when they can)."""
    problems = []
    if before.run.model != after.run.model:
        problems.append(f"model differs ({before.run.model} vs {after.run.model})")
    if before.run.k != after.run.k:
        problems.append(f"k differs ({before.run.k} vs {after.run.k})")
    if before.run.tags != after.run.tags:
        problems.append(f"tag filter differs ({before.run.tags} vs {after.run.tags})")
    return problems


def _scopes(report: Report) -> list[tuple[str | None, Metrics]]:
    """Each split on its own when the run has splits (the gate must hold on test, not only on
    the sum), else all cases."""
    return list(report.by_split.items()) or [(None, report.overall)]


def check_gate(report: Report, thresholds: Thresholds, baseline: Report | None) -> GateResult:
    result = GateResult(passed=True)
    for split, m in _scopes(report):
        for kind, limits in (("minimum", thresholds.minimums), ("maximum", thresholds.maximums)):
            for name, limit in limits.items():
                value = m.value(name)
                if value is None:  # e.g. a --tag selection without a single escalation case
                    where = f"[{split}] " if split else ""
                    result.notes.append(f"{where}{name}: no case to measure it on, threshold not checked")
                    continue
                ok = value >= limit if kind == "minimum" else value <= limit
                result.checks.append(Check(metric=name, kind=kind, value=value, limit=limit, ok=ok, split=split))
    result.checks += _gaps(report, thresholds)

    if baseline is None:
        result.notes.append("no baseline: regressions not checked")
    elif problems := comparable(baseline, report):
        result.notes.append("baseline not comparable, regressions not checked: " + "; ".join(problems))
    else:
        if baseline.run.dataset_hash != report.run.dataset_hash:
            result.notes.append("the dataset changed since the baseline: metrics may move for that reason")
        for split, m in _scopes(report):
            before_metrics = baseline.by_split.get(split) if split else baseline.overall
            if before_metrics is None:
                result.notes.append(f"the baseline has no {split} split: its regressions not checked")
                continue
            for name in thresholds.regression:
                before, now = before_metrics.value(name), m.value(name)
                if before is None or now is None:
                    continue
                lower = name in LOWER_IS_BETTER
                limit = before + thresholds.tolerance if lower else before - thresholds.tolerance
                ok = now <= limit + 1e-9 if lower else now >= limit - 1e-9
                result.checks.append(Check(metric=name, kind="regression", value=now, limit=limit, ok=ok, split=split))
        result.newly_failing, result.newly_passing = flips(baseline, report)
    result.passed = all(c.ok for c in result.checks)
    return result


def _gaps(report: Report, thresholds: Thresholds) -> list[Check]:
    dev, test = report.by_split.get("dev"), report.by_split.get("test")
    if thresholds.max_gap is None or dev is None or test is None:
        return []
    checks = []
    for name in thresholds.gap:
        a, b = dev.value(name), test.value(name)
        if a is None or b is None:
            continue
        gap = abs(a - b)
        checks.append(
            Check(metric=name, kind="gap", value=gap, limit=thresholds.max_gap, ok=gap <= thresholds.max_gap + 1e-9)
        )
    return checks
