"""The tools' wording (`prompts/calculator.yaml`, `prompts/canvas.yaml`) in every language the
advisor answers in: every key, the same placeholders, figures written so that they read back;
/calc walked in Polish through the Telegram handlers shows Polish, never English; and an answer
about funding or costs points to the calculator, on Telegram and in the terminal."""

from __future__ import annotations

import io
import itertools
import json
import re
import shutil
import string

import pytest
import yaml
from rich.console import Console

from bot.advisor.language import SUPPORTED
from bot.advisor.models import AdvisorReply, Citation, Escalation, EscalationReason, Triage
from bot.advisor.pipeline import Advisor
from bot.i18n import catalogues, t
from bot.knowledge.base import KnowledgeBase
from bot.telegram import callbacks
from bot.telegram.render import reply_html
from bot.tools.numbers import Kind, parse_figure
from bot.tools.report import Wording as CalcWording
from tests.conftest import FIXTURES, REPO, make_settings
from tests.fake_telegram import parse_html
from tests.telegram_support import callback_update, message_update, recorded_bot

TOOLS = ("calculator", "canvas")
TABLES = {tool: yaml.safe_load((REPO / "prompts" / f"{tool}.yaml").read_text(encoding="utf-8")) for tool in TOOLS}
# Texts the front ends take from the chat catalogues (bot/i18n) for these tools.
CHAT_KEYS = ("calc_hint", "commands.calc", "commands.canvas", "help", "privacy")


def leaves(node, prefix: str = ""):
    """(dotted key, text) for every text of a nested table."""
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from leaves(value, path + ".")
        else:
            yield path, value


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(str(text)) if name is not None}


def words(text: str) -> list[str]:
    """The words of a text outside its placeholders."""
    literal = " ".join(piece for piece, *_ in string.Formatter().parse(str(text)))
    return re.findall(r"[^\W\d_]{3,}", literal)


def lookup(table: dict, key: str):
    node = table
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


# Every key in every language -----------------------------------------------------------------
@pytest.mark.parametrize(("tool", "lang"), list(itertools.product(TOOLS, SUPPORTED)))
def test_every_text_of_the_tools_exists_in_every_language_with_the_same_placeholders(tool, lang):
    english = dict(leaves(TABLES[tool]["en"]))
    assert lang in TABLES[tool], f"prompts/{tool}.yaml has no {lang!r} table"
    translated = dict(leaves(TABLES[tool][lang]))
    assert sorted(set(english) - set(translated)) == [], f"{tool}.yaml {lang}: missing keys"
    assert sorted(set(translated) - set(english)) == [], f"{tool}.yaml {lang}: keys English does not have"
    for key, text in english.items():
        assert isinstance(translated[key], str) and translated[key], f"{tool}.yaml {lang}.{key} is empty"
        assert placeholders(translated[key]) == placeholders(text), f"{tool}.yaml {lang}.{key}: placeholders differ"
        if lang != "en" and len(words(text)) >= 4:
            assert translated[key] != text, f"{tool}.yaml {lang}.{key} is still the English text"


@pytest.mark.parametrize("lang", SUPPORTED)
def test_the_chat_texts_for_the_tools_exist_in_every_language(lang):
    assert lang in catalogues(), f"bot/i18n/{lang}.yaml is missing"
    for key in CHAT_KEYS:
        english, translated = lookup(catalogues()["en"], key), lookup(catalogues()[lang], key)
        assert translated, f"i18n/{lang}.yaml lacks {key}"
        assert placeholders(translated) == placeholders(english), f"i18n/{lang}.yaml {key}: placeholders differ"
    assert "/canvas" in lookup(catalogues()[lang], "help") and "/calc" in lookup(catalogues()[lang], "help")


def test_the_completeness_check_names_a_removed_key(tmp_path, monkeypatch):
    """The test above fails when one language lacks one key, or changes a placeholder (here Polish)."""
    broken = yaml.safe_load(yaml.safe_dump(TABLES["calculator"], allow_unicode=True))
    del broken["pl"]["questions"]["turnover"]
    monkeypatch.setitem(TABLES, "calculator", broken)
    with pytest.raises(AssertionError, match=r"calculator\.yaml pl: missing keys"):
        test_every_text_of_the_tools_exists_in_every_language_with_the_same_placeholders("calculator", "pl")
    broken["pl"]["questions"]["turnover"] = "Przychody w {okres}?"
    with pytest.raises(AssertionError, match="placeholders differ"):
        test_every_text_of_the_tools_exists_in_every_language_with_the_same_placeholders("calculator", "pl")


@pytest.mark.parametrize("lang", SUPPORTED)
def test_figures_written_the_languages_way_read_back_in_that_language(lang):
    """What "Noted: …" and the results show is what the user could type back."""
    numbers = CalcWording(REPO / "prompts").numbers(lang)
    for tonnes in (0.75, 12.5, 1234.5, 12_000, 1_500_000.25):
        assert parse_figure(numbers.t(tonnes), Kind.mass, "t", lang) == pytest.approx(tonnes)
    for price in (120.5, 440, 4_500):
        assert parse_figure(numbers.eur_t(price), Kind.price, "t", lang) == pytest.approx(price)
    for amount in (75_000, 1_500_000):
        assert parse_figure(numbers.eur(amount), Kind.money, "t", lang) == pytest.approx(amount)


# /calc in Polish, through the Telegram handlers ----------------------------------------------
_users = itertools.count(90_000)


@pytest.fixture(scope="module")
async def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("tool-wording")
    shutil.copytree(FIXTURES / "kb", root / "kb")
    settings = make_settings(
        root, knowledge_dir=root / "kb", telegram_token="123:TEST", database_url=f"sqlite+aiosqlite:///{root / 'b.db'}"
    )
    kb = KnowledgeBase.open(settings)
    kb.sync()
    async with recorded_bot(settings, Advisor(settings, kb), questions_per_minute=100_000) as application:
        yield application


async def seen(app, update) -> tuple[str, list[str]]:
    """The text and the button labels the user sees for this update."""
    start = len(app.recorder.calls)
    await app.process_update(update)
    texts, buttons = [], []
    for method, params in app.recorder.calls[start:]:
        if method == "sendMessage":
            texts.append(parse_html(params["text"])[0].replace("\u00a0", " "))  # "12,5 t": a no-break space
            markup = params.get("reply_markup") or {}
            markup = json.loads(markup) if isinstance(markup, str) else markup
            buttons += [b["text"] for row in markup.get("inline_keyboard", []) for b in row]
    return "\n".join(texts), buttons


def english_fragments() -> set[str]:
    """The calculator's English wording cut at its placeholders, the pieces that read as words."""
    out = set()
    for _, text in leaves(TABLES["calculator"]["en"]):
        for literal, *_ in string.Formatter().parse(str(text)):
            piece = literal.strip(" .,:;()")
            if len(words(piece)) >= 2:
                out.add(piece)
    return out


async def test_calc_in_polish_asks_checks_and_answers_in_polish(app):
    uid = next(_users)
    pl = TABLES["calculator"]["pl"]
    shown: list[str] = []

    async def says(text: str) -> str:
        message, buttons = await seen(app, message_update(app.bot, uid, text, language_code="pl"))
        shown.extend([message, *buttons])
        return message

    async def taps(action: str, value: str) -> tuple[str, list[str]]:
        message, buttons = await seen(app, callback_update(app.bot, uid, callbacks.make("cc", action, value)))
        shown.extend([message, *buttons])
        return message, buttons

    start = await says("/calc")
    assert start.startswith("Kalkulator efektywności surowcowej.") and pl["ask_unit"] in start
    first, buttons = await taps("unit", "t")
    assert first == "Pytanie 1 z ok. 9\n" + pl["questions"]["bought"]
    assert buttons == ["✖ Zakończ"]
    assert "Zapisano: 12,5 t." in await says("12,5 t")
    assert "Zapisano: 10,25 t." in await says("10,25")
    landfill = await says("1,5")
    assert pl["questions"]["incineration"] in landfill
    skipped, buttons = await taps("skip", "incineration")
    assert buttons == ["Pomiń", "✖ Zakończ"] and pl["questions"]["recycling"] in skipped
    assert "Zapisano: 0,75 t." in await says("750 kg")
    await taps("skip", "reuse")
    refused = await says("3 litry")
    assert "Nie znam jednostki „litry”" in refused and pl["questions"]["material_price"] in refused
    assert "Zapisano: 440 €/t." in await says("0,44 €/kg")
    assert "Zapisano: 120,50 €/t." in await says("120,5")
    await taps("skip", "recycling_cost")
    nonsense = await says("dużo")
    assert "Nie umiem odczytać „dużo” jako liczby" in nonsense and pl["leave_hint"] in nonsense
    await says("2,5")
    await says("1 500 000")
    results = await says("75 000")

    assert "Efektywność surowcowa: Państwa wyniki" in results
    assert "Wydajność materiałowa = wysłany produkt ÷ zakupiony materiał = 10,25 t ÷ 12,5 t = 82%" in results
    assert "= 2,25 t ÷ 10,25 t = 219,5 kg odpadów na tonę produktu" in results
    assert "Wartość zakupu utraconego materiału = 2,25 t × 440 €/t = 990 €" in results
    assert "Opłaty za odbiór odpadów = 1,5 t × 120,50 €/t (składowanie) = 181 €" in results
    assert "= 75 000 € ÷ 1 500 000 € = 5%" in results
    assert "Pomiar cyrkularności" in results  # the cited module's Polish title
    assert pl["saved"] in results
    everything = "\n".join(shown)
    leaked = sorted(f for f in english_fragments() if f in everything)
    assert leaked == [], f"English shown to a Polish user: {leaked}"
    assert not {"Skip", "✖ Stop"} & set(shown)


# Answers about funding or costs point to the calculator --------------------------------------
def reply(*citations: Citation, triage: Triage = Triage.answer, **extra) -> AdvisorReply:
    return AdvisorReply(
        answer="Réponse [1].",
        citations=list(citations),
        language="fr",
        confidence=0.8,
        triage=triage,
        mode="generated",
        standalone_question="?",
        **extra,
    )


SCHEME = Citation(number=1, source_id="fr-eco-design", title="Aide écoconception", kind="funding", passage="…")
COST_MODULE = Citation(
    number=1, source_id="waste-prevention-by-products", title="Prévention", kind="module", passage="…"
)
OTHER_MODULE = Citation(number=1, source_id="eco-design", title="Écoconception", kind="module", passage="…")


@pytest.mark.parametrize("lang", ["fr", "pl", "fi"])
def test_a_funding_answer_on_telegram_ends_with_the_calculator_in_the_users_language(lang):
    shown, _ = parse_html(reply_html(reply(SCHEME), lang))
    assert shown.endswith(t("calc_hint", lang, command="/calc")) and "/calc" in shown
    assert parse_html(reply_html(reply(COST_MODULE), lang))[0].endswith(t("calc_hint", lang, command="/calc"))


def test_other_answers_on_telegram_do_not_mention_the_calculator():
    escalation = Escalation(reason=EscalationReason.low_confidence, detail="weak evidence")
    for other in (
        reply(OTHER_MODULE),
        reply(),
        reply(SCHEME, triage=Triage.refuse),
        reply(SCHEME, triage=Triage.escalate, escalation=escalation),
    ):
        assert "/calc" not in reply_html(other, "fr")


def test_a_funding_answer_in_the_terminal_names_the_calculator_command(monkeypatch):
    from bot.terminal import render

    def printed(answer: AdvisorReply) -> str:
        out = io.StringIO()
        monkeypatch.setattr(render, "console", Console(file=out, width=200, color_system=None))
        render.print_reply(answer)
        return out.getvalue()

    assert t("calc_hint", "fr", command="advisor calc --lang fr") in printed(reply(SCHEME))
    assert "advisor calc" not in printed(reply(OTHER_MODULE))
