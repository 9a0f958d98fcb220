"""/canvas end to end: the real `advisor run` process against the fake Telegram server, an SME
answering the blocks (tapping Skip for one), receiving the page as Markdown and HTML files in
English and French, then finding the canvas in /export; the answers survive a restart."""

from __future__ import annotations

import shutil

import pytest

from tests.bot_process import BotProcess, ChatUser, bot_env, stop_all
from tests.conftest import REPO
from tests.fake_telegram import FakeTelegram
from tests.stubs.openai_server import OpenAIStub

MODEL_ANSWER = "The model answered a question [1]."


@pytest.fixture(scope="module")
async def canvas_bot(tmp_path_factory):
    root = tmp_path_factory.mktemp("canvas-e2e")
    tg = await FakeTelegram().start()
    model = await OpenAIStub(reply=lambda messages: MODEL_ANSWER).start()
    env = bot_env(root, tg, model)
    shutil.copy(REPO / "knowledge" / "modules" / "circular-business-models.md", root / "kb" / "modules")
    process = BotProcess(root, env)
    await process.start(tg)
    try:
        yield tg, process
    finally:
        await stop_all(process, model, tg)


class Sme(ChatUser):
    action = "cv"

    async def documents(self, text: str) -> dict[str, str]:
        """The files sent after `text` (the last answer), by extension."""
        since = self.tg.mark()
        self.tg.user_sends(self.uid, text, language_code=self.lang)
        await self.tg.wait_until(lambda: len(self._docs(since)) >= 2, timeout=30)
        out = {}
        for call in self._docs(since):
            name = call.result["document"]["file_name"]
            data = self.tg.file_bytes(call.result["document"]["file_id"])
            out[name.rsplit(".", 1)[1]] = data.decode()
            assert call.files["document"].data == data
        return out

    def _docs(self, since: int) -> list:
        return [c for c in self.tg.calls[since:] if c.ok and c.chat_id == self.uid and c.method == "sendDocument"]


async def test_canvas_in_english_with_a_skip_sends_the_page_and_export_has_it(canvas_bot):
    tg, _ = canvas_bot
    sme = Sme(tg, 501, "en")
    first = await sme.says("/canvas")
    assert "Circular business-model canvas" in first and "Block 1 of 7: Value proposition" in first
    assert "Example: Machines built to last" in first
    assert "Block 2 of 7: Customers" in await sme.says("Repairable chairs with <b>modular</b> parts.")
    assert "Block 3 of 7" in await sme.taps("skip", "customers")
    refused = await sme.says("x" * 1200)
    assert "1200 characters" in refused and "Block 3 of 7" in refused
    await sme.says("We buy back used chairs.")
    await sme.says("Leasing for 5 years, then resale of refurbished chairs.")
    await sme.says("A wood recycler.")
    await sme.says("Wood offcuts to a pellet maker.")
    files = await sme.documents("Damaged returns.")
    assert set(files) == {"md", "html"}
    text = files["md"]
    assert text.startswith("# Circular business-model canvas: my company")
    assert "## 1. Value proposition\n\nRepairable chairs with \\<b\\>modular\\</b\\> parts." in text
    assert "## 2. Customers\n\n*Skipped: to be completed.*" in text
    assert "## 4. Revenue model\n\nLeasing for 5 years" in text
    assert "## Where to go next" in text and "Circular business models" in text
    assert "<h2>4. Revenue model</h2>" in files["html"] and "&lt;b&gt;modular" in files["html"]
    exported = (await sme.export())["business_model_canvas"]
    assert exported["answers"]["customers"] is None
    assert exported["answers"]["risks"] == "Damaged returns."
    assert "circular-business-models" in exported["modules"]


async def test_canvas_in_french_survives_a_restart(canvas_bot):
    tg, process = canvas_bot
    sme = Sme(tg, 502, "fr")
    first = await sme.says("/canvas")
    assert "Canevas de modèle d'affaires circulaire" in first and "Bloc 1 sur 7 : Proposition de valeur" in first
    await sme.says("Des machines réparables.")
    process.stop()  # the answers so far are in the database, not in the process
    await process.start(tg)
    assert "Bloc 3 sur 7" in await sme.taps("skip", "customers")  # the button asked before the restart
    for answer in ("Reprise à la livraison.", "Location avec entretien.", "Un recycleur.", "Ferraille revendue."):
        await sme.says(answer)
    files = await sme.documents("La trésorerie.")
    text = files["md"]
    assert text.startswith("# Canevas de modèle d'affaires circulaire : mon entreprise")
    assert "## 1. Proposition de valeur\n\nDes machines réparables." in text
    assert "## 2. Clients\n\n*Passé : à compléter.*" in text
    assert "## Pour aller plus loin" in text and "### Financements" in text
    assert '<html lang="fr">' in files["html"]
    assert (await sme.export())["business_model_canvas"]["answers"]["revenue_model"] == "Location avec entretien."


async def test_stop_leaves_the_canvas_and_questions_reach_the_advisor_again(canvas_bot):
    tg, _ = canvas_bot
    sme = Sme(tg, 503, "en")
    await sme.says("/canvas")
    assert "Canvas stopped" in await sme.taps("stop", "0")
    since = tg.mark()
    tg.user_sends(sme.uid, "Which grants are there for recycling?")
    answer = await tg.wait_for(lambda c: c.chat_id == sme.uid and MODEL_ANSWER[:20] in str(c.params), since=since)
    assert answer.ok
