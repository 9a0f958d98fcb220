"""The resource-efficiency calculator (issue #20): what an SME's purchase, production and waste
figures say about its material yield, its waste, what that waste costs, and what moving it up the
R-ladder would save.

The formulas are the knowledge base's, cited in every result:
- `measuring-circularity`, "Five KPIs you can compute from your own records": material yield
  (saleable product ÷ material bought), waste intensity (waste per product unit or per euro of
  turnover), circular input share (recycled, reused or renewable input ÷ input), recovery routing
  (shares of waste to reuse, recycling, other recovery and disposal) and circular revenue
  (circular turnover ÷ total turnover). Its Material Circularity Indicator is described there
  without a formula and needs product-level data, so it is not computed.
- `waste-prevention-by-products`, the true cost of waste: here the purchase value of the lost
  material plus the disposal fees (labour and handling are not asked for).
- `circular-economy-basics`, the R-ladder: reuse (R3) above recycling (R8) above energy
  recovery (R9) above landfill.

Both front ends walk the same `STEPS` with `accept`/`skip`, then `to_input` and `compute`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.tools.numbers import Kind, Problem, parse_figure

MODULE_ID = "measuring-circularity"
# Each part of a result and the module it comes from, in the order they are cited.
SOURCES = {
    "measuring-circularity": "kpis",
    "waste-prevention-by-products": "cost",
    "circular-economy-basics": "ladder",
}
DEFAULT_SHARES = (0.10, 0.25, 0.50)
HISTORY_KEPT = 24  # results remembered per user: two years of monthly figures


class Route(StrEnum):
    """Where waste goes, lowest rung of the R-ladder first."""

    landfill = "landfill"  # disposal
    incineration = "incineration"  # R9 recover: the module's "other recovery"
    recycling = "recycling"  # R8 recycle
    reuse = "reuse"  # R3 reuse, including by-product sales


DISPOSAL = (Route.landfill, Route.incineration)  # what the savings move up, to recycling


class CalcInput(BaseModel):
    """One period's figures, in tonnes and euros."""

    model_config = ConfigDict(extra="forbid")

    bought_t: float = Field(gt=0, le=10_000_000)
    shipped_t: float = Field(gt=0, le=10_000_000)
    waste_t: dict[Route, float] = Field(default_factory=dict)
    material_price_eur_t: float = Field(ge=0)
    # Fee per tonne by route (gate fee, collection, transport); a route not listed costs nothing.
    route_cost_eur_t: dict[Route, float] = Field(default_factory=dict)
    recycled_input_t: float | None = Field(default=None, ge=0)
    turnover_eur: float | None = Field(default=None, gt=0)
    circular_revenue_eur: float | None = Field(default=None, ge=0)
    shares: tuple[float, ...] = DEFAULT_SHARES

    @model_validator(mode="after")
    def _consistent(self) -> CalcInput:
        if any(v < 0 for v in (*self.waste_t.values(), *self.route_cost_eur_t.values())):
            raise ValueError("waste quantities and route costs are zero or more")
        if self.shipped_t > self.bought_t or self.total_waste_t > self.bought_t:
            raise ValueError("product shipped and waste cannot each exceed the material bought")
        if self.recycled_input_t is not None and self.recycled_input_t > self.bought_t:
            raise ValueError("recycled input cannot exceed the material bought")
        if self.circular_revenue_eur is not None and (
            self.turnover_eur is None or self.circular_revenue_eur > self.turnover_eur
        ):
            raise ValueError("circular revenue needs a turnover at least as large")
        if not all(0 < s <= 1 for s in self.shares):
            raise ValueError("shares are fractions in (0, 1]")
        return self

    @property
    def total_waste_t(self) -> float:
        return sum(self.waste_t.values())

    def waste(self, route: Route) -> float:
        return self.waste_t.get(route, 0.0)

    def cost(self, route: Route) -> float:
        return self.route_cost_eur_t.get(route, 0.0)


class Saving(BaseModel):
    share: float  # of the landfilled and incinerated waste
    moved_t: float
    eur: float  # per period; negative when recycling costs more than disposal


class CalcResult(BaseModel):
    yield_share: float  # KPI 1
    waste_t: float
    waste_kg_per_t: float  # KPI 2, per tonne of product
    waste_kg_per_keur: float | None  # KPI 2, per 1,000 EUR of turnover
    circular_input_share: float | None  # KPI 3
    routing: dict[Route, float]  # KPI 4: share of the waste by route (empty without waste)
    circular_revenue_share: float | None  # KPI 5
    lost_t: float
    unrecorded_t: float  # bought − shipped − waste: negative when the figures do not balance
    material_value_eur: float
    disposal_eur: float
    cost_of_waste_eur: float
    savings: list[Saving]


def compute(inp: CalcInput) -> CalcResult:
    waste = inp.total_waste_t
    lost = inp.bought_t - inp.shipped_t
    material_value = lost * inp.material_price_eur_t
    disposal = sum(inp.waste(r) * inp.cost(r) for r in Route)
    avoidable = sum(inp.waste(r) * (inp.cost(r) - inp.cost(Route.recycling)) for r in DISPOSAL)
    moved = sum(inp.waste(r) for r in DISPOSAL)
    return CalcResult(
        yield_share=inp.shipped_t / inp.bought_t,
        waste_t=waste,
        waste_kg_per_t=waste * 1000 / inp.shipped_t,
        waste_kg_per_keur=waste * 1000 / inp.turnover_eur * 1000 if inp.turnover_eur else None,
        circular_input_share=inp.recycled_input_t / inp.bought_t if inp.recycled_input_t is not None else None,
        routing={r: inp.waste(r) / waste for r in Route} if waste > 0 else {},
        circular_revenue_share=(
            inp.circular_revenue_eur / inp.turnover_eur
            if inp.circular_revenue_eur is not None and inp.turnover_eur
            else None
        ),
        lost_t=lost,
        unrecorded_t=lost - waste,
        material_value_eur=material_value,
        disposal_eur=disposal,
        cost_of_waste_eur=material_value + disposal,
        savings=[Saving(share=s, moved_t=s * moved, eur=s * avoidable) for s in inp.shares] if moved > 0 else [],
    )


# The questions, in the order both front ends ask them --------------------------------------
Answers = dict[str, Any]  # step key -> canonical value (tonnes, EUR/t, EUR), None when skipped


def _amount(answers: Answers, *keys: str) -> float:
    return sum(answers.get(k) or 0.0 for k in keys)


def _has_disposal(answers: Answers) -> bool:
    return _amount(answers, "landfill", "incineration") > 0


@dataclass(frozen=True)
class Step:
    key: str
    kind: Kind
    optional: bool = False
    # Asked only when it matters: no disposal fee without waste to dispose of, say.
    asked: Callable[[Answers], bool] = field(default=lambda answers: True)


WASTE_STEPS = ("landfill", "incineration", "recycling", "reuse")
STEPS = (
    Step("bought", Kind.mass),
    Step("shipped", Kind.mass),
    *(Step(route, Kind.mass, optional=True) for route in WASTE_STEPS),
    Step("material_price", Kind.price),
    Step("disposal_cost", Kind.price, asked=_has_disposal),
    Step("recycling_cost", Kind.price, optional=True, asked=lambda a: _has_disposal(a) or _amount(a, "recycling") > 0),
    Step("recycled_input", Kind.mass, optional=True),
    Step("turnover", Kind.money, optional=True),
    Step("circular_revenue", Kind.money, optional=True, asked=lambda a: a.get("turnover") is not None),
)
BY_KEY = {s.key: s for s in STEPS}
UNITS = ("t", "kg")


def next_step(answers: Answers) -> Step | None:
    return next((s for s in STEPS if s.key not in answers and s.asked(answers)), None)


def accept(key: str, text: str, answers: Answers, lang: str = "en") -> float:
    """The figure typed for step `key`, read and checked against the answers so far.
    Raises `Problem` with a code the wording names."""
    step = BY_KEY[key]
    value = parse_figure(text, step.kind, answers.get("unit") or "t", lang)
    check(key, value, answers)
    return value


def check(key: str, value: float, answers: Answers) -> None:
    """What makes a figure impossible given the others (issue #20: absurd values)."""
    bought = answers.get("bought")
    if key in ("bought", "shipped", "turnover") and value == 0:
        raise Problem(f"zero_{key}")
    if key == "shipped" and bought is not None and value > bought:
        raise Problem("shipped_exceeds_bought", shipped=value, bought=bought)
    if key in WASTE_STEPS and bought is not None:
        waste = _amount(answers, *WASTE_STEPS) + value
        if waste > bought:
            raise Problem("waste_exceeds_bought", waste=waste, bought=bought)
    if key == "recycled_input" and bought is not None and value > bought:
        raise Problem("recycled_exceeds_bought", recycled=value, bought=bought)
    if key == "circular_revenue" and answers.get("turnover") is not None and value > answers["turnover"]:
        raise Problem("circular_exceeds_turnover", circular=value, turnover=answers["turnover"])


def skip(key: str) -> None:
    """Raises Problem("required") for a figure the results cannot do without."""
    if not BY_KEY[key].optional:
        raise Problem("required")


def to_input(answers: Answers, shares: tuple[float, ...] = DEFAULT_SHARES) -> CalcInput:
    """The complete answers as the calculator's input. `disposal_cost` is the fee for landfill
    and incineration; `landfill_cost`/`incineration_cost` (terminal options) override it."""
    disposal = answers.get("disposal_cost") or 0.0
    costs = {
        Route.landfill: answers.get("landfill_cost", disposal),
        Route.incineration: answers.get("incineration_cost", disposal),
        Route.recycling: answers.get("recycling_cost") or 0.0,
        Route.reuse: answers.get("reuse_cost") or 0.0,
    }
    return CalcInput(
        bought_t=answers["bought"],
        shipped_t=answers["shipped"],
        waste_t={Route(k): answers[k] for k in WASTE_STEPS if answers.get(k)},
        material_price_eur_t=answers["material_price"],
        route_cost_eur_t={r: c for r, c in costs.items() if c},
        recycled_input_t=answers.get("recycled_input"),
        turnover_eur=answers.get("turnover"),
        circular_revenue_eur=answers.get("circular_revenue"),
        shares=shares,
    )


# Results kept over time ---------------------------------------------------------------------
class CalcRecord(BaseModel):
    at: dt.datetime
    input: CalcInput
    result: CalcResult


def history(stored: dict[str, Any] | None) -> list[CalcRecord]:
    """Earlier results, oldest first; a record that no longer validates is left out, not fatal."""
    out = []
    for raw in (stored or {}).get("results", []):
        try:
            out.append(CalcRecord.model_validate(raw))
        except ValueError:
            continue
    return out


def remember(stored: dict[str, Any] | None, record: CalcRecord) -> dict[str, Any]:
    """The stored history with `record` added (the oldest dropped beyond HISTORY_KEPT)."""
    results = [*(stored or {}).get("results", []), record.model_dump(mode="json")]
    return {"results": results[-HISTORY_KEPT:]}


# Answers that lead here ----------------------------------------------------------------------
# Modules about what waste costs and what circular projects cost or earn: an answer citing one, or
# a funding scheme, gets a line pointing to the calculator from the front end that shows it.
COST_MODULES = frozenset(
    {"circular-business-case", "financing-circular-projects", "measuring-circularity", "waste-prevention-by-products"}
)


def worth_suggesting(reply: Any) -> bool:
    """Whether an advisor's reply (`AdvisorReply`, read by its fields: bot.tools does not import
    the advisor) is an answer about funding or costs: one that cites a funding scheme or a cost
    module. Refusals, scope messages and replies on their way to an ambassador are not."""
    if str(reply.triage) != "answer" or reply.escalation is not None:
        return False
    return any(c.kind == "funding" or c.source_id in COST_MODULES for c in reply.citations)


def summary(stored: dict[str, Any] | None) -> str | None:
    """The latest result in one line for an ambassador's dossier (their working language is
    English), with the change since the one before when there is one."""
    records = history(stored)
    if not records:
        return None
    last = records[-1].result
    line = (
        f"{records[-1].at:%Y-%m-%d}: material yield {last.yield_share:.0%}, "
        f"{last.waste_kg_per_t:,.0f} kg waste per t of product, cost of waste EUR {last.cost_of_waste_eur:,.0f}"
    )
    if len(records) > 1:
        before = records[-2]
        line += f" (yield {before.result.yield_share:.0%} on {before.at:%Y-%m-%d})"
    return line
