"""What a reader of another language sees in a composed answer from the shipped knowledge base."""

import re

import pytest

from bot.advisor.compose import Composer
from bot.advisor.language import detect_language
from bot.advisor.models import AdvisorRequest
from bot.advisor.pipeline import Advisor
from bot.knowledge.catalog import Catalog
from tests.conftest import REPO


@pytest.fixture(scope="module")
def composer():
    return Composer(REPO / "prompts", Catalog(REPO / "knowledge"))


async def test_a_case_card_in_danish_keeps_its_figures_and_speaks_danish(shipped_kb):
    advisor = Advisor(shipped_kb.settings, shipped_kb)
    reply = await advisor.answer(
        AdvisorRequest(message="Hvor mange virksomheder var med i Grøn Cirkulær Omstilling, og hvem stod bag?")
    )
    assert "40" in reply.answer  # the figure, translated with the card
    assert "partnership" not in reply.answer  # who ran it, in Danish too
    card = next(p for p in reply.answer.split("\n\n") if "Grøn Cirkulær Omstilling" in p)
    assert detect_language(card, "en") == "da"


def test_items_named_by_id_in_the_content_are_named_by_title(composer):
    text = "See `financing-circular-projects`, or a loan (see se-almi-green-loan); product-as-a-service stays."
    shown = composer.readable(text, "fr")
    assert "financing-circular-projects" not in shown and "se-almi-green-loan" not in shown
    assert f"“{composer.catalog.title('financing-circular-projects', 'fr')}”" in shown
    assert "product-as-a-service stays" in shown  # a module id that is also a word is left alone
    assert not re.search(r"`", shown)
