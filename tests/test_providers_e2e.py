"""/providers end to end: the real `advisor run` process against the fake Telegram server, with the
shipped directory and a cluster's own folder (ADVISOR_PROVIDERS_DIR). An SME asks in words or taps
an offer, with the country from its words or its profile, and reads up to five organisations, each
with why it fits and its public page, in English and in French."""

from __future__ import annotations

import shutil

import pytest

from bot.telegram import callbacks
from tests.bot_process import BotProcess, ChatUser, bot_env, stop_all
from tests.conftest import REPO
from tests.fake_telegram import FakeTelegram
from tests.stubs.openai_server import OpenAIStub
from tests.test_providers import MEMBER


@pytest.fixture(scope="module")
async def providers_bot(tmp_path_factory):
    root = tmp_path_factory.mktemp("providers-e2e")
    tg = await FakeTelegram().start()
    model = await OpenAIStub(reply=lambda messages: "A model answer [1].").start()
    env = bot_env(root, tg, model, ADVISOR_PROVIDERS_DIR=str(root / "cluster"))
    shutil.copytree(REPO / "knowledge" / "providers", root / "kb" / "providers")
    (root / "cluster").mkdir()
    (root / "cluster" / "members.yaml").write_text(MEMBER, encoding="utf-8")
    process = BotProcess(root, env)
    await process.start(tg)
    try:
        yield tg
    finally:
        await stop_all(process, model, tg)


class Sme(ChatUser):
    action = "pv"


async def test_in_english_words_find_a_cluster_member_and_public_organisations(providers_bot):
    sme = Sme(providers_bot, 601, "en")
    reply = await sme.says("/providers who can take our wood offcuts near Aarhus?")
    assert reply.startswith("Organisations that may help (“who can take our wood offcuts near Aarhus?”):")
    assert "1. Example Joinery Cooperative\nDK, Aarhus\n" in reply  # the cluster's own member, first
    assert "Why: offers By-product and waste exchange; in Aarhus; handles wood" in reply
    assert "https://example.org/joinery (checked 25 November 2026)" in reply
    assert "Symbiosis Center Denmark (Symbiosecenter Danmark)" in reply and "Why: offers Industrial symbiosis" in reply
    assert reply.count("(checked ") <= 5
    assert "ask an ambassador for an introduction: /human" in reply and "Descriptions are in English" not in reply


async def test_in_english_an_offer_button_with_the_profiles_country(providers_bot):
    sme = Sme(providers_bot, 602, "en")
    asked = await sme.says("/providers")
    assert asked.startswith("What kind of help are you looking for?")
    assert {"Industrial symbiosis", "Repair", "Producer responsibility (EPR)"} <= set(sme.buttons())
    await sme.press(callbacks.make("ob", "country", "DK"), strict=False)  # the profile says Denmark
    await sme.says("/providers")
    reply = await sme.press(callbacks.make("pv", "industrial-symbiosis-facilitation"))
    assert reply.startswith("Organisations that may help (Industrial symbiosis, DK or Europe-wide):")
    assert "1. Symbiosis Center Denmark (Symbiosecenter Danmark)" in reply
    assert "Why: offers Industrial symbiosis; based in DK" in reply
    assert "https://symbiosecenter.dk/en/project/residue-to-resource/" in reply
    assert "International Synergies" not in reply and "Motiva" not in reply  # other countries' programmes


async def test_in_french_words_with_a_country_then_a_button_and_nothing_found(providers_bot):
    sme = Sme(providers_bot, 603, "fr")
    reply = await sme.says("/providers recyclage textile en France")
    assert reply.startswith(
        "Organismes qui peuvent vous aider (“recyclage textile en France”, FR ou à l'échelle européenne) :"
    )
    assert "1. Refashion (eco-organisation for clothing, household linen and footwear)" in reply
    assert "Pourquoi : propose : Recyclage; pays : FR; travaille avec le secteur : Textile" in reply
    assert "https://refashion.fr/pro/en/about-refashion (vérifié le 25 novembre 2026)" in reply
    assert "Les descriptions sont en anglais." in reply and "mise en relation à un ambassadeur : /human" in reply

    assert (await sme.says("/providers")).startswith("Quel type d'aide cherchez-vous ?")
    assert "Réparation" in sme.buttons() and "Symbiose industrielle" in sme.buttons()
    reply = await sme.press(callbacks.make("pv", "repair"))
    assert reply.startswith("Organismes qui peuvent vous aider (Réparation) :")
    assert "Re-Use Austria (formerly RepaNet)" in reply and "Pourquoi : propose : Réparation; pays" not in reply
    assert "Pourquoi : propose : Réparation; réseau à l'échelle européenne" in reply  # RREUSE

    nothing = await sme.says("/providers téléportation quantique")
    assert nothing.startswith("Je n'ai trouvé aucun organisme de mon répertoire pour cette demande.")
