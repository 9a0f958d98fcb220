"""/calc end to end: the real `advisor run` process against the fake Telegram server, an SME
typing figures (decimal commas in French), tapping the unit and Skip buttons, reading the
results, then finding them in /export; the answers so far survive a restart of the bot."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
import yaml

from bot.i18n.dates import long_date
from bot.tools.calculator import SOURCES
from tests.bot_process import BotProcess, ChatUser, bot_env, stop_all
from tests.conftest import REPO
from tests.fake_telegram import FakeTelegram
from tests.stubs.openai_server import OpenAIStub

MODEL_ANSWER = "The model answered a question [1]."


@pytest.fixture(scope="module")
async def calc_bot(tmp_path_factory):
    root = tmp_path_factory.mktemp("calc-e2e")
    tg = await FakeTelegram().start()
    model = await OpenAIStub(reply=lambda messages: MODEL_ANSWER).start()
    env = bot_env(root, tg, model)
    # The modules the results cite, and the French title of the KPI module (the fixture knowledge
    # base has neither: it joins the fixture's French); the catalog reads them from disk, no index needed.
    for module in SOURCES:
        shutil.copy(REPO / "knowledge" / "modules" / f"{module}.md", root / "kb" / "modules")
    french = yaml.safe_load((REPO / "knowledge" / "translations" / "fr.yaml").read_text(encoding="utf-8"))
    fixture_french = root / "kb" / "translations" / "fr.yaml"
    translations = yaml.safe_load(fixture_french.read_text(encoding="utf-8"))
    translations["items"]["measuring-circularity"] = french["items"]["measuring-circularity"]
    fixture_french.write_text(yaml.safe_dump(translations, allow_unicode=True), encoding="utf-8")
    process = BotProcess(root, env)
    await process.start(tg)
    try:
        yield tg, process
    finally:
        await stop_all(process, model, tg)


class Sme(ChatUser):
    action = "cc"


async def test_calc_in_english_with_a_correction_then_export_and_a_comparison(calc_bot):
    tg, _ = calc_bot
    sme = Sme(tg, 401, "en")
    assert "Resource-efficiency calculator" in await sme.says("/calc")
    assert "How much material did you buy" in await sme.taps("unit", "t")
    assert "Noted: 120 t." in await sme.says("120")
    refused = await sme.says("130")
    assert "You shipped 130 t but bought only 120 t" in refused and "saleable product" in refused
    await sme.says("96")
    assert "incineration" in await sme.taps("skip", "landfill")
    await sme.says("4 t")
    assert "Noted: 12 t." in await sme.says("12 000 kg")
    await sme.says("8")
    refused = await sme.says("Which grants are there for recycling?")  # a question is not a figure
    assert "can't read" in refused and "tap Stop first" in refused and MODEL_ANSWER not in refused
    await sme.says("300")
    await sme.says("95")
    await sme.says("40")
    await sme.taps("skip", "recycled_input")
    results = await sme.taps("skip", "turnover")
    assert "Material yield = product shipped ÷ material bought = 96 t ÷ 120 t = 80%" in results
    assert "Waste intensity = waste ÷ product shipped = 24 t ÷ 96 t = 250 kg of waste per tonne" in results
    assert "Cost of waste = purchase value + disposal = €7,200 + €860 = €8,060" in results
    assert "10% moved (0.4 t): 10% × (4 t × (€95/t − €40/t)) = €22 saved" in results
    assert "Measuring circularity: simple KPIs" in results and "module measuring-circularity" in results
    assert "Circular input share: not worked out (you skipped the recycled or reused input)" in results

    exported = (await sme.export())["resource_efficiency_calculator"]
    assert exported[-1]["result"]["yield_share"] == pytest.approx(0.8)
    assert exported[-1]["input"]["waste_t"] == {"incineration": 4.0, "recycling": 12.0, "reuse": 8.0}

    # Later, better figures: the new results say what changed since.
    await sme.says("/calc")
    await sme.taps("unit", "t")
    for figure in ("100", "86"):
        await sme.says(figure)
    for route in ("landfill", "incineration", "recycling"):
        await sme.taps("skip", route)
    await sme.says("14")
    await sme.says("300")
    await sme.taps("skip", "recycled_input")
    results = await sme.taps("skip", "turnover")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"Since your last calculation on {long_date(today, 'en')}" in results
    assert "your material yield went from 80% to 86%" in results
    assert len((await sme.export())["resource_efficiency_calculator"]) == 2


async def test_calc_in_french_with_decimal_commas_survives_a_restart(calc_bot):
    tg, process = calc_bot
    sme = Sme(tg, 402, "fr")
    assert "Calculateur d'efficacité des ressources" in await sme.says("/calc")
    assert "Quelle quantité de matière avez-vous achetée" in await sme.taps("unit", "t")
    assert "C'est noté : 12,5 t." in await sme.says("12,5 t")
    assert "C'est noté : 10,25 t." in await sme.says("10,25")
    assert "incinération" in await sme.says("1,5")
    process.stop()  # the answers so far are in the database, not in the process
    await process.start(tg)
    await sme.taps("skip", "incineration")  # the button of the question asked before the restart
    assert "C'est noté : 0,75 t." in await sme.says("750 kg")
    await sme.taps("skip", "reuse")
    assert "Je ne connais pas l'unité « litres »" in await sme.says("3 litres")
    assert "C'est noté : 440 €/t." in await sme.says("0,44 €/kg")
    await sme.says("120,5")
    await sme.taps("skip", "recycling_cost")
    await sme.says("2,5")
    await sme.says("1 500 000")
    results = await sme.says("75 000")
    assert "Rendement matière = produit expédié ÷ matière achetée = 10,25 t ÷ 12,5 t = 82 %" in results
    assert "= 2,25 t ÷ 10,25 t = 219,5 kg de déchets par tonne de produit" in results
    assert "Valeur d'achat de la matière perdue = 2,25 t × 440 €/t = 990 €" in results
    assert "Élimination = 1,5 t × 120,50 €/t (décharge) = 181 €" in results
    assert "Part d'intrants circulaires = " in results and "= 2,5 t ÷ 12,5 t = 20 %" in results
    assert "= 75 000 € ÷ 1 500 000 € = 5 %" in results
    assert "Mesurer la circularité" in results and "measuring-circularity" in results
    assert "/export" in results and "/forget" in results

    exported = (await sme.export())["resource_efficiency_calculator"]
    assert exported[0]["result"]["yield_share"] == pytest.approx(0.82)
    assert exported[0]["input"]["material_price_eur_t"] == pytest.approx(440)


async def test_stop_leaves_the_calculator_and_questions_reach_the_advisor_again(calc_bot):
    tg, _ = calc_bot
    sme = Sme(tg, 403, "en")
    await sme.says("/calc")
    await sme.taps("unit", "kg")
    assert "Calculator stopped" in await sme.taps("stop", "0")
    since = tg.mark()
    tg.user_sends(sme.uid, "Which grants are there for recycling?")
    answer = await tg.wait_for(lambda c: c.chat_id == sme.uid and MODEL_ANSWER[:20] in str(c.params), since=since)
    assert answer.ok
