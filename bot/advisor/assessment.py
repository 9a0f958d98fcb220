"""Scoring the circularity self-assessment and turning weak areas into recommendations."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.knowledge.catalog import Catalog
from bot.knowledge.schema import Instrument, SelfAssessment


class AreaScore(BaseModel):
    area: str
    name: str
    percent: float
    weak: bool


class AssessmentResult(BaseModel):
    version: int
    overall_percent: float
    level: str
    level_name: str
    areas: list[AreaScore]
    recommended_modules: list[str] = Field(default_factory=list)
    recommended_instruments: list[Instrument] = Field(default_factory=list)
    recommended_schemes: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        """One line for the advisor's prompt."""
        weak = ", ".join(a.name for a in self.areas if a.weak) or "none"
        return f"maturity {self.level_name} ({self.overall_percent:.0f}%); weak areas: {weak}"


def score(
    assessment: SelfAssessment,
    answers: dict[str, int],
    catalog: Catalog | None = None,
    country: str | None = None,
    size: str | None = None,
) -> AssessmentResult:
    """answers: question id -> index of the chosen option. Unanswered questions count as 0."""
    areas = []
    for area in assessment.areas:
        questions = [q for q in assessment.questions if q.area == area.id]
        got = 0
        for q in questions:
            chosen = answers.get(q.id)
            if chosen is not None and 0 <= chosen < len(q.options):
                got += q.options[chosen].score
        percent = 100 * got / (4 * len(questions))
        areas.append(
            AreaScore(
                area=area.id,
                name=area.name,
                percent=round(percent, 1),
                weak=percent < assessment.weak_area_below_percent,
            )
        )
    overall = round(sum(a.percent for a in areas) / len(areas), 1)
    level = max((lv for lv in assessment.levels if lv.min_percent <= overall), key=lambda lv: lv.min_percent)
    weak_ids = {a.area for a in areas if a.weak}
    modules: list[str] = []
    instruments: list[Instrument] = []
    for area in sorted(assessment.areas, key=lambda a: next(x.percent for x in areas if x.area == a.id)):
        if area.id in weak_ids:
            modules += [m for m in area.recommended_modules if m not in modules]
            instruments += [i for i in area.recommended_instruments if i not in instruments]
    schemes: list[str] = []
    if catalog is not None and instruments:
        for s in catalog.match_schemes(country, size=size, limit=50):
            if set(s.instruments) & set(instruments):
                schemes.append(s.id)
    return AssessmentResult(
        version=assessment.version,
        overall_percent=overall,
        level=level.id,
        level_name=level.name,
        areas=areas,
        recommended_modules=modules[:5],
        recommended_instruments=instruments,
        recommended_schemes=schemes[:5],
    )
