"""The resource-efficiency calculator (bot/tools): formulas against worked examples computed by
hand from the knowledge base's definitions, figures as people type them, the results a user
reads, and `advisor calc` in a terminal."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.knowledge.catalog import Catalog
from bot.tools.calculator import (
    STEPS,
    CalcInput,
    CalcRecord,
    Route,
    accept,
    compute,
    history,
    next_step,
    remember,
    skip,
    to_input,
)
from bot.tools.numbers import Kind, Problem, parse_figure
from bot.tools.report import Wording, module_titles, plain, problem_text, render
from tests.conftest import REPO

KNOWLEDGE = REPO / "knowledge"
WORDING = Wording(REPO / "prompts")

# The carpentry shop of `measuring-circularity` ("Five KPIs you can compute from your own
# records"): 120 t of board bought, 96 t of furniture shipped, 8 t of offcuts sold to a pellet
# maker, 12 t recycled, 4 t incinerated. Prices are ours: board at 300 €/t, incineration at
# 95 €/t, recycling collection at 40 €/t.
CARPENTRY = {
    "unit": "t",
    "bought": 120.0,
    "shipped": 96.0,
    "landfill": None,
    "incineration": 4.0,
    "recycling": 12.0,
    "reuse": 8.0,
    "material_price": 300.0,
    "disposal_cost": 95.0,
    "recycling_cost": 40.0,
    "recycled_input": 30.0,
    "turnover": 2_000_000.0,
    "circular_revenue": 50_000.0,
}


def record(inp: CalcInput, at: dt.datetime) -> CalcRecord:
    return CalcRecord(at=at, input=inp, result=compute(inp))


def section(text: str, title: str) -> str:
    return next(part for part in text.split("\n\n") if part.startswith(title))


# Formulas -------------------------------------------------------------------------------------
def test_the_modules_worked_example_is_still_the_one_tested():
    module = Catalog(KNOWLEDGE).modules["measuring-circularity"]
    kpis = module.section("Five KPIs you can compute from your own records")
    flat = " ".join(kpis.split())
    assert "buying 120 t of board and shipping 96 t of furniture has a yield of 80%" in flat
    assert "sell 8 t of offcuts to a pellet maker, send 12 t to recycling and 4 t to incineration" in flat
    for kpi in ("Material yield", "Waste intensity", "Circular input share", "Recovery routing", "Circular revenue"):
        assert f"**{kpi}**" in kpis


def test_the_five_kpis_of_the_carpentry_shop():
    result = compute(to_input(CARPENTRY))
    assert result.yield_share == pytest.approx(0.80)  # 96 / 120, as the module says
    assert result.waste_t == pytest.approx(24)  # 8 + 12 + 4
    assert result.waste_kg_per_t == pytest.approx(250)  # 24,000 kg / 96 t
    assert result.waste_kg_per_keur == pytest.approx(12)  # 24,000 kg / 2,000 k€
    assert result.circular_input_share == pytest.approx(0.25)  # 30 / 120
    assert result.routing == pytest.approx(
        {Route.reuse: 8 / 24, Route.recycling: 0.5, Route.incineration: 4 / 24, Route.landfill: 0.0}
    )
    assert result.circular_revenue_share == pytest.approx(0.025)  # 50,000 / 2,000,000


def test_cost_of_waste_and_savings_of_moving_it_up_the_ladder():
    result = compute(to_input(CARPENTRY))
    assert result.lost_t == pytest.approx(24)  # 120 − 96
    assert result.material_value_eur == pytest.approx(7_200)  # 24 t × 300 €/t
    assert result.disposal_eur == pytest.approx(860)  # 4 × 95 + 12 × 40 (+ 8 × 0 for the sale)
    assert result.cost_of_waste_eur == pytest.approx(8_060)
    assert result.unrecorded_t == pytest.approx(0)
    # Only the 4 t incinerated can move up: share × 4 t × (95 − 40) €/t.
    assert [s.share for s in result.savings] == [0.10, 0.25, 0.50]
    assert [s.moved_t for s in result.savings] == pytest.approx([0.4, 1.0, 2.0])
    assert [s.eur for s in result.savings] == pytest.approx([22.0, 55.0, 110.0])


def test_landfill_and_incineration_can_have_their_own_fees():
    inp = CalcInput(
        bought_t=50,
        shipped_t=40,
        waste_t={Route.landfill: 6, Route.incineration: 2},
        material_price_eur_t=1000,
        route_cost_eur_t={Route.landfill: 150, Route.incineration: 110, Route.recycling: 30},
        shares=(0.5,),
    )
    result = compute(inp)
    assert result.disposal_eur == pytest.approx(6 * 150 + 2 * 110)
    assert result.cost_of_waste_eur == pytest.approx(10 * 1000 + 1120)
    assert result.unrecorded_t == pytest.approx(2)  # 50 − 40 − 8: not recorded as waste
    assert result.savings[0].eur == pytest.approx(0.5 * (6 * (150 - 30) + 2 * (110 - 30)))
    assert result.circular_input_share is None and result.waste_kg_per_keur is None


def test_without_waste_there_is_no_routing_and_nothing_to_move():
    result = compute(to_input({**CARPENTRY, "incineration": None, "recycling": None, "reuse": None}))
    assert result.routing == {} and result.savings == [] and result.waste_kg_per_t == 0


# Figures as typed ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "lang", "tonnes"),
    [
        ("1 234,5", "fr", 1234.5),
        ("1.234,5", "de", 1234.5),
        ("1,234.5", "en", 1234.5),
        ("1,5 t", "fr", 1.5),
        ("1,5 tonnes", "fr", 1.5),
        ("12 tonnes", "en", 12),
        ("12t", "en", 12),
        ("12 000 kg", "fr", 12),
        ("12\u202f000 kg", "fr", 12),  # a narrow no-break space pasted from a spreadsheet
        ("850 Kg", "en", 0.85),
        ("1'234.5 t", "de", 1234.5),
        ("1.500", "fr", 1500),  # French groups thousands with a dot…
        ("1.500", "en", 1.5),  # …English writes decimals with it
        ("1,500", "en", 1500),
        ("0,125", "en", 0.125),
    ],
)
def test_quantities_as_people_type_them(typed, lang, tonnes):
    assert parse_figure(typed, Kind.mass, "t", lang) == pytest.approx(tonnes)


def test_a_quantity_without_unit_takes_the_chosen_one():
    assert parse_figure("2500", Kind.mass, "kg") == pytest.approx(2.5)
    assert parse_figure("2500 t", Kind.mass, "kg") == pytest.approx(2500)


@pytest.mark.parametrize(
    ("typed", "eur_per_t"),
    [("450", 450), ("450 €/t", 450), ("1 200 €", 1200), ("0,45 €/kg", 450), ("90 EUR par tonne", 90)],
)
def test_prices_per_tonne_or_per_kilogram(typed, eur_per_t):
    assert parse_figure(typed, Kind.price, "t", "fr") == pytest.approx(eur_per_t)


@pytest.mark.parametrize(
    ("typed", "kind", "code"),
    [
        ("twelve", Kind.mass, "not_a_number"),
        ("", Kind.mass, "not_a_number"),
        ("1.2.3", Kind.mass, "not_a_number"),
        ("12 5", Kind.mass, "not_a_number"),
        ("1e9", Kind.mass, "not_a_number"),
        ("-5 t", Kind.mass, "negative"),
        ("−5", Kind.price, "negative"),
        ("12 litres", Kind.mass, "unknown_unit"),
        ("12 kg", Kind.price, "unknown_unit"),  # a weight where a price was asked
        ("20000000 t", Kind.mass, "too_large"),
    ],
)
def test_figures_that_cannot_be_used_are_refused_with_a_reason(typed, kind, code):
    with pytest.raises(Problem) as refused:
        parse_figure(typed, kind, "t", "en")
    assert refused.value.code == code


@given(st.text(max_size=30), st.sampled_from(list(Kind)), st.sampled_from(["en", "fr", "de"]))
def test_any_text_is_a_figure_or_a_clear_message_never_a_crash(text, kind, lang):
    try:
        value = parse_figure(text, kind, "t", lang)
    except Problem as problem:
        message = problem_text(WORDING, problem, lang)
        for typed in (v for v in problem.values.values() if isinstance(v, str)):  # what the user wrote
            message = message.replace(typed, "")
        assert message and not re.search(r"\{[a-z_]+\}", message)  # every placeholder filled in
        return
    assert 0 <= value < float("inf")


@given(st.decimals(min_value=0, max_value=9_999_999, places=3, allow_nan=False), st.sampled_from(["en", "fr"]))
def test_numbers_written_the_french_or_english_way_read_back_the_same(number, lang):
    whole, _, fraction = f"{number:.3f}".partition(".")
    groups = f"{int(whole):,}".replace(",", " " if lang == "fr" else ",")
    typed = f"{groups}{',' if lang == 'fr' else '.'}{fraction} t"
    assert parse_figure(typed, Kind.mass, "t", lang) == pytest.approx(float(number))


# The questions and their checks --------------------------------------------------------------
def test_absurd_combinations_are_refused_at_the_step_that_makes_them():
    answers = {"unit": "t", "bought": 10.0}
    with pytest.raises(Problem) as refused:
        accept("shipped", "12", answers)
    assert refused.value.code == "shipped_exceeds_bought"
    answers["shipped"] = 8.0
    answers["landfill"] = 6.0
    with pytest.raises(Problem) as refused:
        accept("incineration", "5 t", answers)
    assert refused.value.code == "waste_exceeds_bought"
    with pytest.raises(Problem) as refused:
        accept("bought", "0", {"unit": "t"})
    assert refused.value.code == "zero_bought"
    with pytest.raises(Problem) as refused:
        skip("material_price")
    assert refused.value.code == "required"
    message = problem_text(WORDING, Problem("waste_exceeds_bought", waste=11.0, bought=10.0), "fr")
    assert "11\u00a0t" in message and "10\u00a0t" in message


def test_fees_are_asked_only_when_there_is_waste_to_pay_for():
    answers = {"unit": "t", "bought": 10.0, "shipped": 10.0, **dict.fromkeys(("landfill", "incineration"), None)}
    answers |= {"recycling": None, "reuse": None, "material_price": 5.0}
    assert next_step(answers).key == "recycled_input"  # no disposal or recycling fee to ask
    answers |= {"recycled_input": None, "turnover": None}
    assert next_step(answers) is None  # no circular revenue without a turnover
    assert {s.key for s in STEPS if s.optional} >= {"landfill", "recycling_cost", "turnover"}


# What the user reads ----------------------------------------------------------------------------
def test_results_show_each_formula_with_the_numbers_and_cite_the_module():
    inp = to_input(CARPENTRY)
    text = plain(render(WORDING, inp, compute(inp), "en", module_titles(Catalog(KNOWLEDGE), "en")))
    assert "Material yield = product shipped ÷ material bought = 96 t ÷ 120 t = 80%" in text
    assert "Waste intensity = waste ÷ product shipped = 24 t ÷ 96 t = 250 kg of waste per tonne" in text
    assert "reuse and by-product sale (R3): 8 t ÷ 24 t = 33.3%" in text
    assert "Purchase value of the lost material = 24 t × €300/t = €7,200" in text
    assert "Disposal = 4 t × €95/t (incineration) + 12 t × €40/t (recycling) = €860" in text
    assert "Cost of waste = purchase value + disposal = €7,200 + €860 = €8,060" in text
    assert "10% moved (0.4 t): 10% × (4 t × (€95/t − €40/t)) = €22 saved" in text
    assert "Circular revenue = circular turnover ÷ total turnover = €50,000 ÷ €2,000,000 = 2.5%" in text
    sources = section(text, "Sources")
    assert "Measuring circularity: simple KPIs" in sources and "module measuring-circularity" in sources


def test_results_in_french_write_numbers_the_french_way():
    inp = to_input(CARPENTRY)
    text = plain(render(WORDING, inp, compute(inp), "fr", module_titles(Catalog(KNOWLEDGE), "fr")))
    text = text.replace("\u00a0", " ")
    assert "Rendement matière = produit expédié ÷ matière achetée = 96 t ÷ 120 t = 80 %" in text
    assert "réemploi et vente de sous-produits (R3) : 8 t ÷ 24 t = 33,3 %" in text
    assert "Coût des déchets = valeur d'achat + élimination = 7 200 € + 860 € = 8 060 €" in text
    assert "Mesurer la circularité" in section(text, "Sources")  # the translated title


def test_a_new_result_is_compared_with_the_last_one():
    earlier = {**CARPENTRY, "shipped": 90.0, "reuse": 14.0}  # yield 75%
    stored = remember(None, record(to_input(earlier), dt.datetime(2026, 3, 2, tzinfo=dt.UTC)))
    previous = history(stored)[-1]
    inp = to_input(CARPENTRY)
    text = plain(render(WORDING, inp, compute(inp), "en", {}, previous))
    since = section(text, "Since your last calculation on 2 March 2026")
    assert "your material yield went from 75% to 80%" in since
    assert "circular input share" not in since  # unchanged figures are not listed


def test_history_keeps_the_latest_results_and_survives_a_bad_record():
    stored = {"results": [{"at": "garbage"}]}
    for day in range(1, 30):
        stored = remember(stored, record(to_input(CARPENTRY), dt.datetime(2026, 1, day, tzinfo=dt.UTC)))
    kept = history(stored)
    assert len(kept) == 24 and kept[-1].at.day == 29


async def test_results_are_exported_and_forgotten_with_the_user(store):
    user = await store.get_or_create_user(telegram_id=777)
    at = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    await store.update_profile(user.id, calculator=remember(None, record(to_input(CARPENTRY), at)))
    exported = (await store.export_user(user.id))["resource_efficiency_calculator"]
    assert exported[0]["result"]["yield_share"] == pytest.approx(0.8)
    assert exported[0]["input"]["bought_t"] == 120
    await store.delete_user(user.id)
    assert (await store.get_or_create_user(telegram_id=777)).calculator is None


# The terminal -----------------------------------------------------------------------------------
def run_calc(tmp_path: Path, args: list[str], typed: str = "") -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")},
        "ADVISOR_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "250",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "calc", *args],
        input=typed,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_advisor_calc_with_options_prints_the_results(tmp_path):
    done = run_calc(
        tmp_path,
        [
            *("--bought", "120t", "--shipped", "96 000 kg", "--incineration", "4", "--recycling", "12"),
            *("--reuse", "8", "--material-price", "0,30 €/kg", "--disposal-cost", "95", "--recycling-cost", "40"),
            *("--lang", "fr"),
        ],
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.replace("\u00a0", " ")
    assert "Rendement matière = produit expédié ÷ matière achetée = 96 t ÷ 120 t = 80 %" in out
    assert "Coût des déchets = valeur d'achat + élimination = 7 200 € + 860 € = 8 060 €" in out
    assert "measuring-circularity" in out


def test_advisor_calc_asks_again_after_a_figure_it_cannot_use(tmp_path):
    typed = "\n".join(["120", "130", "96", "", "4", "12", "8", "abc", "300", "95", "", "", ""]) + "\n"
    done = run_calc(tmp_path, [], typed)
    assert done.returncode == 0, done.stderr
    assert "You shipped 130 t but bought only 120 t" in done.stderr
    assert 'I can\'t read "abc" as a number' in done.stderr
    assert "Material yield = product shipped ÷ material bought = 96 t ÷ 120 t = 80%" in done.stdout
    assert "Cost of waste = purchase value + disposal = €7,200 + €380 = €7,580" in done.stdout


def test_advisor_calc_refuses_an_absurd_option_in_one_line(tmp_path):
    done = run_calc(tmp_path, ["--bought", "10 t", "--shipped", "12 t", "--material-price", "5"])
    assert done.returncode == 2
    assert "--shipped: You shipped 12 t but bought only 10 t" in done.stderr and "Traceback" not in done.stderr
