"""The ambassador directory, escalation figures and the FAQ learning loop from the command line."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app
from bot.config import get_settings
from bot.domain import Dossier
from bot.escalation.faq import forget_user_answers
from bot.escalation.registry import AmbassadorRegistry
from bot.escalation.service import EscalationService
from bot.knowledge.base import KnowledgeBase
from bot.store import Store
from tests.conftest import FIXTURES, make_settings
from tests.test_escalation import MARIE, TOMASZ


@pytest.fixture
def env(tmp_path, monkeypatch):
    shutil.copytree(FIXTURES / "kb", tmp_path / "kb")
    monkeypatch.setenv("ADVISOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ADVISOR_KNOWLEDGE_DIR", str(tmp_path / "kb"))
    monkeypatch.delenv("ADVISOR_AMBASSADORS_FILE", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    return result


def test_ambassadors_add_list_pause_remove(env):
    added = invoke(
        "ambassadors",
        "add",
        "marie",
        "--name",
        "Marie Dupont",
        "--telegram-id",
        "501",
        "--languages",
        "fr,en",
        "--countries",
        "FR,BE",
        "--expertise",
        "eco-design,lca",
    )
    assert added.exit_code == 0, added.output
    assert "/start" in added.output  # what the ambassador must do next
    bad = invoke(
        "ambassadors",
        "add",
        "x",
        "--name",
        "X",
        "--telegram-id",
        "502",
        "--languages",
        "fr",
        "--countries",
        "Atlantis",
        "--expertise",
        "eco-design",
    )
    assert bad.exit_code == 1 and "error" in bad.output
    listed = invoke("ambassadors", "list")
    assert "marie" in listed.output and "0/5" in listed.output and "yes" in listed.output
    assert invoke("ambassadors", "pause", "marie").exit_code == 0
    assert "paused" in invoke("ambassadors", "list").output
    registry = AmbassadorRegistry(env / "kb" / "ambassadors.yaml")
    assert registry.get("marie").active is False and registry.is_active_ambassador(501) is None
    assert invoke("ambassadors", "resume", "marie").exit_code == 0 and registry.is_active_ambassador(501)
    assert invoke("ambassadors", "remove", "marie").exit_code == 0
    assert invoke("ambassadors", "remove", "marie").exit_code == 1
    assert registry.all() == []


async def resolved_thread_with_draft(tmp_path, answer: str) -> None:
    settings = make_settings(tmp_path, data_dir=tmp_path / "data", knowledge_dir=tmp_path / "kb")
    (tmp_path / "kb" / "ambassadors.yaml").write_text(yaml.safe_dump({"ambassadors": [MARIE, TOMASZ]}))
    store = await Store.open(settings.database_url)
    try:
        svc = EscalationService(store, AmbassadorRegistry(settings.ambassadors_file))
        user = await store.get_or_create_user(telegram_id=42)
        record, _ = await svc.open(
            user_id=user.id,
            conversation_id=None,
            reason="needs_judgement",
            language="en",
            country="FR",
            topics=["eco-design"],
            actor="test",
            dossier=Dossier(
                question="Can a bakery reuse its flour sacks as packaging?",
                sources=[{"title": "Eco-design basics", "url": "https://example.org/eco"}],
            ),
        )
        await svc.claim(record.id, 501)
        await svc.resolve(record.id, 501)
        await svc.rate(record.id, user.id, 4)
        draft = await svc.draft_faq(record.id, 501, answer, record.dossier["sources"])
        assert draft.status == "draft"
        assert (await svc.draft_faq(record.id, 502, answer, [])).refused == "not_yours"
    finally:
        await store.close()


def test_faq_review_publishes_and_indexes_the_answer(env):
    answer = "Yes, if the sacks are food-grade and clean; the zucchini-stamp method keeps them traceable."
    asyncio.run(resolved_thread_with_draft(env, answer))
    stats = invoke("escalations", "stats", "--json")
    figures = json.loads(stats.output)
    assert figures["counts"]["resolved"] == 1 and figures["ratings"] == {"4": 1}
    assert figures["reasons"] == {"needs_judgement": 1} and figures["median_claim_s"] < 60
    assert "median time to claim" in invoke("escalations", "stats").output

    assert "Draft 1" in invoke("faq", "review", "--reviewer", "Maintainer", "--approve", "1").output
    faq = yaml.safe_load((env / "kb" / "faq" / "ambassador-answers.yaml").read_text())
    entry = faq["entries"][0]
    assert entry["reviewer"] == "Maintainer" and entry["answer"] == answer
    assert entry["sources"] == [{"title": "Eco-design basics", "url": "https://example.org/eco"}]
    # Ingested: the advisor can now find the ambassador's answer.
    kb = KnowledgeBase.open(make_settings(env, data_dir=env / "data", knowledge_dir=env / "kb"))
    assert kb.search("zucchini-stamp flour sacks", k=1)[0].source_id == entry["id"]
    assert "No drafts" in invoke("faq", "review", "--reviewer", "Maintainer").output

    # /forget: the SME's thread gave the answer, so it leaves the FAQ file and the index.
    async def forget():
        settings = make_settings(env, data_dir=env / "data", knowledge_dir=env / "kb")
        store = await Store.open(settings.database_url)
        try:
            user = await store.get_or_create_user(telegram_id=42)
            db = EscalationService(store, AmbassadorRegistry(settings.ambassadors_file)).db
            return await forget_user_answers(db, settings.faq_approved_file, kb, user.id)
        finally:
            await store.close()

    assert asyncio.run(forget()) == 1
    assert yaml.safe_load((env / "kb" / "faq" / "ambassador-answers.yaml").read_text())["entries"] == []
    assert all(p.source_id != entry["id"] for p in kb.search("zucchini-stamp flour sacks", k=5))


def test_faq_review_edits_a_draft_in_the_editor(env, monkeypatch):
    """`edit` at the prompt opens $EDITOR on the answer (click.edit: typer no longer re-exports it)."""
    asyncio.run(resolved_thread_with_draft(env, "Yes, if the sacks are clean."))
    edited = "Yes, if the sacks are food-grade and clean; keep a cleaning log."
    monkeypatch.setattr("click.edit", lambda text: f"{edited}\n" if text == "Yes, if the sacks are clean." else None)
    result = CliRunner().invoke(app, ["faq", "review", "--reviewer", "Maintainer", "--no-ingest"], input="edit\n\n")
    assert result.exit_code == 0, result.output
    assert "Draft 1: approved as ambassador-1-" in result.output
    entry = yaml.safe_load((env / "kb" / "faq" / "ambassador-answers.yaml").read_text())["entries"][0]
    assert entry["answer"].strip() == edited and entry["reviewer"] == "Maintainer"
