"""The quality gate: headline minimums (evals/thresholds.yaml) and no regression vs the baseline."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from bot.evals.metrics import Pricing
from bot.evals.report import LOWER_IS_BETTER, Metrics, Report


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minimums: dict[str, float] = Field(default_factory=dict)
    maximums: dict[str, float] = Field(default_factory=dict)
    max_gap: float | None = None


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = 5
    tolerance: float = 0.02  # how much a metric may worsen vs the baseline
    minimums: dict[str, float] = Field(default_factory=dict)
    maximums: dict[str, float] = Field(default_factory=dict)
    regression: list[str] = Field(default_factory=list)  # compared with the baseline
    # Limits to reach on the test split, reported but not blocking until met.
    targets: Targets = Field(default_factory=Targets)
    # Metrics whose dev-test gap is reported: much better on dev than on test means fitted to dev.
    gap: list[str] = Field(default_factory=list)
    pricing: Pricing = Field(default_factory=Pricing)

    @classmethod
    def load(cls, path: Path) -> Thresholds:
        thresholds = cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        unknown = [
            name
            for name in [
                *thresholds.minimums,
                *thresholds.maximums,
                *thresholds.regression,
                *thresholds.gap,
                *thresholds.targets.minimums,
                *thresholds.targets.maximums,
            ]
            if name not in Metrics.model_fields
        ]
        if unknown:
            raise ValueError(f"{path}: unknown metric(s): {', '.join(unknown)}")
        return thresholds


class Check(BaseModel):
    metric: str
    kind: str  # minimum, maximum, regression; target minimum, target maximum, target gap (not blocking)
    value: float | None
    limit: float
    ok: bool
    split: str | None = None  # dev or test; None: all cases

    @property
    def blocking(self) -> bool:
        return not self.kind.startswith("target")

    def describe(self) -> str:
        value = "n/a" if self.value is None else f"{self.value:.3f}"
        sign = {"minimum": ">=", "maximum": "<=", "target minimum": ">=", "target maximum": "<="}.get(
            self.kind, "|dev - test| <=" if self.kind == "target gap" else "within tolerance of"
        )
        status = "ok" if self.ok else ("miss" if self.blocking is False else "FAIL")
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
    result.checks += _targets(report, thresholds)

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
    result.passed = all(c.ok for c in result.checks if c.blocking)
    return result


def _targets(report: Report, thresholds: Thresholds) -> list[Check]:
    """Targets on the test split (all cases when the run has no split), and the dev-test gap."""
    targets = thresholds.targets
    m = report.by_split.get("test") or report.overall
    split = "test" if "test" in report.by_split else None
    checks = []
    for kind, limits in (("target minimum", targets.minimums), ("target maximum", targets.maximums)):
        for name, limit in limits.items():
            value = m.value(name)
            if value is None:
                continue
            ok = value >= limit if kind == "target minimum" else value <= limit
            checks.append(Check(metric=name, kind=kind, value=value, limit=limit, ok=ok, split=split))
    dev, test = report.by_split.get("dev"), report.by_split.get("test")
    if targets.max_gap is not None and dev is not None and test is not None:
        for name in thresholds.gap:
            a, b = dev.value(name), test.value(name)
            if a is None or b is None:
                continue
            gap = abs(a - b)
            ok = gap <= targets.max_gap + 1e-9
            checks.append(Check(metric=name, kind="target gap", value=gap, limit=targets.max_gap, ok=ok))
    return checks
