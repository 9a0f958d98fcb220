"""The calculator's words: its questions, why a figure was refused, and the results with every
formula written out with the user's numbers, in the user's language (`prompts/calculator.yaml`).

Plain text in sections; Telegram and the terminal only add their own emphasis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.i18n.dates import long_date
from bot.knowledge.catalog import Catalog
from bot.tools.calculator import (
    DISPOSAL,
    SOURCES,
    STEPS,
    Answers,
    CalcInput,
    CalcRecord,
    CalcResult,
    Route,
    Step,
)
from bot.tools.numbers import Kind, Problem
from bot.tools.wording import Wording as ToolWording

# Problem values and how to show them.
VALUE_KINDS = {"shipped": "t", "bought": "t", "waste": "t", "recycled": "t", "circular": "eur", "turnover": "eur"}
LIMIT_KINDS = {"t": "t", "EUR/t": "eur_t", "EUR": "eur"}


class Wording(ToolWording):
    """`prompts/calculator.yaml`: a key missing in a language is taken from English."""

    FILE = "calculator.yaml"

    def numbers(self, lang: str) -> Numbers:
        return Numbers(self.get("number", lang))


@dataclass
class Numbers:
    """Figures written the way the language writes them: 1,234.5 t or 1 234,5 t; €8,060 or 8 060 €."""

    style: dict[str, str]

    def number(self, x: float, places: int, trim: bool = True) -> str:
        text = f"{abs(x):,.{places}f}"
        if trim and "." in text:
            text = text.rstrip("0").rstrip(".")
        text = text.replace(",", "\0").replace(".", self.style["decimal"]).replace("\0", self.style["group"])
        return ("-" if round(x, places) < 0 else "") + text

    def _unit(self, template: str, x: float, places: int, trim: bool = True) -> str:
        shown = self.style[template].format(n=self.number(abs(x), places, trim))
        return ("-" if round(x, places) < 0 else "") + shown

    def pct(self, share: float) -> str:
        return self._unit("percent", share * 100, 1)

    def t(self, tonnes: float) -> str:
        return self._unit("tonnes", tonnes, 3)

    def kg(self, kilograms: float, places: int = 0) -> str:
        return self._unit("kg", kilograms, places)

    def eur(self, euros: float) -> str:
        cents = abs(euros) < 100 and round(euros) != round(euros, 2)
        return self._unit("eur", euros, 2 if cents else 0, trim=False)

    def eur_t(self, euros: float) -> str:
        cents = round(euros) != round(euros, 2)  # a price is shown as given: 120.50 €/t
        return self._unit("eur_per_t", euros, 2 if cents else 0, trim=False)

    def figure(self, kind: Kind, value: float) -> str:
        return {Kind.mass: self.t, Kind.price: self.eur_t, Kind.money: self.eur}[kind](value)


@dataclass
class Section:
    title: str | None
    lines: list[str] = field(default_factory=list)


# The conversation ---------------------------------------------------------------------------
def question(wording: Wording, step: Step, lang: str, answers: Answers) -> str:
    """The question for `step`, with where the user is ("Question 3 of about 11")."""
    done = sum(1 for s in STEPS if s.key in answers)
    remaining = sum(1 for s in STEPS if s.key not in answers and s.asked(answers))
    head = wording.text("step", lang, n=done + 1, total=done + remaining)
    text = wording.text(f"questions.{step.key}", lang)
    if step.optional:
        text += " " + wording.text("optional", lang)
    return f"{head}\n{text}"


def noted(wording: Wording, key: str, value: float, lang: str) -> str:
    step = next(s for s in STEPS if s.key == key)
    return wording.text("noted", lang, value=wording.numbers(lang).figure(step.kind, value))


def problem_text(wording: Wording, problem: Problem, lang: str) -> str:
    """What is wrong with a figure, in words; "unknown_unit" depends on what was asked."""
    num = wording.numbers(lang)
    values = dict(problem.values)
    for key, kind in VALUE_KINDS.items():
        if key in values:
            values[key] = num.t(values[key]) if kind == "t" else num.eur(values[key])
    if "limit" in values:
        values["limit"] = getattr(num, LIMIT_KINDS[str(values.get("unit"))])(values["limit"])
    key = f"problems.{problem.code}" + (f".{values['kind']}" if problem.code == "unknown_unit" else "")
    return wording.text(key, lang, **values)


def module_titles(catalog: Catalog, lang: str) -> dict[str, str]:
    """The cited modules' titles in the user's language (English when not translated; the id
    when a custom knowledge base lacks the module)."""
    out = {}
    for module_id in SOURCES:
        module = catalog.modules.get(module_id)
        translated = catalog.translated(module_id, lang)
        out[module_id] = (translated and translated.title) or (module.meta.title if module else module_id)
    return out


# The results --------------------------------------------------------------------------------
COMPARED = {"yield_share": "pct", "waste_kg_per_t": "kg", "cost_of_waste_eur": "eur", "circular_input_share": "pct"}


def render(
    wording: Wording,
    inp: CalcInput,
    res: CalcResult,
    lang: str,
    titles: dict[str, str],
    previous: CalcRecord | None = None,
) -> list[Section]:
    """The results: comparison with the previous calculation, KPIs, cost of waste, savings of
    moving waste up the R-ladder, sources. Every figure comes with its formula."""

    def w(key: str, **values: Any) -> str:
        return wording.text(f"report.{key}", lang, **values)

    n = wording.numbers(lang)
    sections = [Section(w("title"))]
    if previous is not None:
        lines = []
        for metric, style in COMPARED.items():
            before, after = getattr(previous.result, metric), getattr(res, metric)
            if before is None or after is None:
                continue
            show = {"pct": n.pct, "kg": lambda v: n.kg(v, 1), "eur": n.eur}[style]
            if show(before) != show(after):  # "went from 80% to 80%" says nothing
                lines.append("• " + w(f"compare.{metric}", before=show(before), after=show(after)))
        sections.append(
            Section(w("compare_title", date=long_date(previous.at.date(), lang)), lines or [w("compare_same")])
        )

    kpis = Section(w("kpis_title"))
    kpis.lines.append(w("yield", shipped=n.t(inp.shipped_t), bought=n.t(inp.bought_t), result=n.pct(res.yield_share)))
    kpis.lines.append(
        w("waste_intensity", waste=n.t(res.waste_t), shipped=n.t(inp.shipped_t), result=n.kg(res.waste_kg_per_t, 1))
    )
    if res.waste_kg_per_keur is not None and inp.turnover_eur:
        kpis.lines.append(
            w(
                "waste_per_turnover",
                waste_kg=n.kg(res.waste_t * 1000),
                turnover=n.eur(inp.turnover_eur),
                result=n.kg(res.waste_kg_per_keur, 2),
            )
        )
    else:
        kpis.lines.append(_skipped(w, "waste_per_turnover", "turnover"))
    if res.circular_input_share is not None and inp.recycled_input_t is not None:
        kpis.lines.append(
            w(
                "circular_input",
                recycled=n.t(inp.recycled_input_t),
                bought=n.t(inp.bought_t),
                result=n.pct(res.circular_input_share),
            )
        )
    else:
        kpis.lines.append(_skipped(w, "circular_input", "recycled_input"))
    if res.routing:
        kpis.lines.append(w("routing", waste=n.t(res.waste_t)))
        for route in reversed(Route):  # highest rung first, as the module lists them
            kpis.lines.append(
                "• "
                + w(
                    "routing_line",
                    route=w(f"routes.{route.value}"),
                    tonnes=n.t(inp.waste(route)),
                    waste=n.t(res.waste_t),
                    result=n.pct(res.routing[route]),
                )
            )
    else:
        kpis.lines.append(w("routing_none"))
    if res.circular_revenue_share is not None and inp.circular_revenue_eur is not None and inp.turnover_eur:
        kpis.lines.append(
            w(
                "circular_revenue",
                circular=n.eur(inp.circular_revenue_eur),
                turnover=n.eur(inp.turnover_eur),
                result=n.pct(res.circular_revenue_share),
            )
        )
    else:
        kpis.lines.append(_skipped(w, "circular_revenue", "turnover" if not inp.turnover_eur else "circular_revenue"))
    kpis.lines.append(w("mci"))
    sections.append(kpis)

    cost = Section(w("cost_title"))
    cost.lines.append(w("lost", bought=n.t(inp.bought_t), shipped=n.t(inp.shipped_t), result=n.t(res.lost_t)))
    cost.lines.append(
        w(
            "material_value",
            lost=n.t(res.lost_t),
            price=n.eur_t(inp.material_price_eur_t),
            result=n.eur(res.material_value_eur),
        )
    )
    terms = [
        w("disposal_term", tonnes=n.t(inp.waste(r)), cost=n.eur_t(inp.cost(r)), route=w(f"short_routes.{r.value}"))
        for r in Route
        if inp.waste(r) > 0 and inp.cost(r) > 0
    ]
    if terms:
        cost.lines.append(w("disposal", terms=" + ".join(terms), result=n.eur(res.disposal_eur)))
    else:
        cost.lines.append(w("disposal_none", result=n.eur(0)))
    cost.lines.append(
        w(
            "cost_total",
            material=n.eur(res.material_value_eur),
            disposal=n.eur(res.disposal_eur),
            result=n.eur(res.cost_of_waste_eur),
        )
    )
    cost.lines.append(w("cost_note"))
    if res.unrecorded_t > 1e-9:
        cost.lines.append(
            w(
                "balance_unrecorded",
                bought=n.t(inp.bought_t),
                shipped=n.t(inp.shipped_t),
                waste=n.t(res.waste_t),
                result=n.t(res.unrecorded_t),
            )
        )
    elif res.unrecorded_t < -1e-9:
        cost.lines.append(w("balance_over", total=n.t(inp.shipped_t + res.waste_t), result=n.t(-res.unrecorded_t)))
    sections.append(cost)

    savings = Section(w("savings_title"))
    terms = [
        w(
            "saving_term",
            tonnes=n.t(inp.waste(r)),
            cost=n.eur_t(inp.cost(r)),
            recycling_cost=n.eur_t(inp.cost(Route.recycling)),
        )
        for r in DISPOSAL
        if inp.waste(r) > 0
    ]
    for saving in res.savings:
        savings.lines.append(
            "• "
            + w(
                "saving",
                share=n.pct(saving.share),
                moved=n.t(saving.moved_t),
                terms=" + ".join(terms),
                result=n.eur(saving.eur),
            )
        )
    if not res.savings:
        savings.lines.append(w("savings_none"))
    elif any(s.eur < 0 for s in res.savings):
        savings.lines.append(w("savings_negative"))
    sections.append(savings)

    sources = Section(w("sources_title"))
    for module_id, part in SOURCES.items():
        title = titles.get(module_id, module_id)
        sources.lines.append("• " + w("source", title=title, id=module_id, what=w(f"source_what.{part}")))
    sections.append(sources)
    return sections


def _skipped(w, kpi: str, what: str) -> str:
    return w("skipped", kpi=w(f"kpi_names.{kpi}"), what=w(f"skipped_what.{what}"))


def plain(sections: list[Section]) -> str:
    """The results as plain text (tests, logs, the terminal without colours)."""
    return "\n\n".join("\n".join(filter(None, [s.title, *s.lines])) for s in sections)
