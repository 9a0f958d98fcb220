"""The escalation lifecycle on SQLite and PostgreSQL: transitions, authorisation, routing, SLA."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from bot.domain import Dossier, Status
from bot.escalation.plans import ChatMessage
from bot.escalation.registry import AmbassadorRegistry
from bot.escalation.service import EscalationService
from bot.knowledge.catalog import Catalog
from bot.knowledge.providers import ProviderDirectory
from bot.knowledge.schema import Ambassador
from tests.conftest import REPO

MARIE = {
    "id": "marie",
    "name": "Marie",
    "telegram_user_id": 501,
    "languages": ["fr", "en"],
    "countries": ["FR"],
    "expertise": ["eco-design"],
    "capacity": 2,
}
TOMASZ = {
    "id": "tomasz",
    "name": "Tomasz",
    "telegram_user_id": 502,
    "languages": ["pl", "en"],
    "countries": ["PL"],
    "expertise": ["industrial-symbiosis"],
    "capacity": 3,
}
LUCIA = {
    "id": "lucia",
    "name": "Lucía",
    "telegram_user_id": 503,
    "languages": ["es"],
    "countries": ["ES"],
    "expertise": ["financing"],
    "capacity": 3,
}
PAUSED = {
    "id": "paused",
    "name": "Paused",
    "telegram_user_id": 504,
    "languages": ["fr"],
    "countries": ["FR"],
    "expertise": ["eco-design"],
    "active": False,
}


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def registry(tmp_path):
    path = tmp_path / "ambassadors.yaml"
    path.write_text(yaml.safe_dump({"ambassadors": [MARIE, TOMASZ, LUCIA, PAUSED]}))
    return AmbassadorRegistry(path)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def service(store, registry, clock):
    return EscalationService(store, registry, clock=clock)


async def open_for(service, store, language="fr", country="FR", topics=("eco-design",), telegram_id=9001):
    user = await store.get_or_create_user(telegram_id=telegram_id)
    conv = await store.current_conversation(user.id)
    record, created = await service.open(
        user_id=user.id,
        conversation_id=conv,
        reason="human_requested",
        language=language,
        country=country,
        topics=list(topics),
        dossier=Dossier(question="Can we get a grant for reusable crates?"),
        actor="sme",
    )
    return user, record, created


async def test_routing_prefers_language_country_expertise_then_load(service, store):
    _, record, _ = await open_for(service, store)
    assert [a.id for a in await service.route(record)] == ["marie", "tomasz"]  # paused Marie-like is skipped
    # A Spanish thread: Lucía speaks Spanish; English speakers are the fall-back.
    _, es, _ = await open_for(service, store, language="es", country="ES", topics=["financing"], telegram_id=9002)
    assert next(a.id for a in await service.route(es)) == "lucia"
    # Everyone with room at the wider circle; nobody asked twice.
    await service.mark_notified(record, await service.route(record), level=0)
    record = await service.db.get(record.id)
    assert {a.id for a in await service.route(record, level=1)} == {"lucia"}


async def test_one_active_thread_per_user(service, store):
    _user, first, created = await open_for(service, store)
    _, again, created_again = await open_for(service, store)
    assert created and not created_again and again.id == first.id


async def test_claim_answer_resolve_with_every_transition_logged(service, store, clock):
    user, record, _ = await open_for(service, store)
    assert (await service.claim(record.id, 999)).refused == "not_ambassador"
    assert (await service.claim(record.id, PAUSED["telegram_user_id"])).refused == "not_ambassador"
    assert (await service.may_answer(record.id, 501)).refused == "claim_first"
    clock.advance(minutes=4)
    claimed = await service.claim(record.id, 501)
    assert claimed.ok and claimed.escalation.status == Status.claimed and claimed.ambassador.id == "marie"
    assert (await service.claim(record.id, 502)).refused == "taken"  # a second ambassador cannot take it
    assert (await service.may_answer(record.id, 502)).refused == "not_yours"
    assert (await service.resolve(record.id, 502)).refused == "not_yours"
    assert (await service.may_answer(record.id, 501)).ok
    assert not await service.rate(record.id, user.id, 5)  # not before it is closed
    clock.advance(minutes=10)
    resolved = await service.resolve(record.id, 501)
    assert resolved.ok and resolved.escalation.status == Status.resolved
    assert await service.rate(record.id, user.id, 4, "Very useful")
    assert not await service.rate(record.id, user.id + 1, 1)  # nobody rates another SME's thread
    events = await service.db.events(record.id)
    transitions = [(e.from_status, e.to_status, e.actor) for e in events if e.to_status]
    assert transitions == [
        (None, "open", "sme"),
        ("open", "claimed", "ambassador:marie"),
        ("claimed", "resolved", "ambassador:marie"),
    ]
    refused = [e.action for e in events if e.action.startswith("refused_")]
    assert refused.count("refused_claim") == 3 and "refused_reply" in refused and "refused_resolve" in refused
    stats = await service.stats()
    assert stats.counts["resolved"] == 1 and stats.median_claim_s == 240 and stats.median_resolve_s == 840
    assert stats.ratings == {4: 1} and stats.reasons == {"human_requested": 1}


async def test_return_to_bot_and_cancel(service, store):
    user, record, _ = await open_for(service, store)
    await service.claim(record.id, 501)
    assert (await service.return_to_bot(record.id, 502)).refused == "not_yours"
    assert (await service.return_to_bot(record.id, 501)).escalation.status == Status.returned_to_bot
    assert await service.db.active_for_user(user.id) is None
    _, second, created = await open_for(service, store)
    assert created and second.id != record.id
    assert (await service.cancel_by_sme(user.id)).status == Status.returned_to_bot


async def test_sla_widens_the_circle_once_then_expires(service, store, clock):
    _, record, _ = await open_for(service, store)
    await service.mark_notified(record, await service.route(record), level=0)
    clock.advance(minutes=29)
    assert await service.due_for_wider_circle() == []
    clock.advance(minutes=2)
    widened = await service.due_for_wider_circle()
    assert [r.id for r in widened] == [record.id] and widened[0].notify_level == 1
    assert await service.due_for_wider_circle() == []  # once, whichever replica gets there first
    clock.advance(hours=24)
    assert [r.status for r in await service.expire_stale()] == [Status.expired]


async def test_expected_wait_is_the_median_of_history(service, store, clock):
    assert await service.expected_wait() is None
    for i, minutes in enumerate([5, 20, 11]):
        _, record, _ = await open_for(service, store, telegram_id=7000 + i)
        clock.advance(minutes=minutes)
        await service.claim(record.id, 501 if i < 2 else 502)
    assert await service.expected_wait() == dt.timedelta(minutes=11)


async def test_relays_are_copied_once_and_threads_map_both_ways(service, store):
    _, record, _ = await open_for(service, store)
    relay = await service.db.start_relay(record.id, "to_amb", 9001, 10, -100)
    assert relay is not None
    assert await service.db.start_relay(record.id, "to_amb", 9001, 10, -100) is not None  # unconfirmed: again
    await service.db.finish_relay(relay.id, -100, 77)
    assert await service.db.start_relay(record.id, "to_amb", 9001, 10, -100) is None  # confirmed: never again
    assert await service.db.counterpart(-100, 77) == (9001, 10)
    assert await service.db.counterpart(9001, 10) == (-100, 77)


def test_registry_edits_are_validated_and_reloaded(tmp_path):
    registry = AmbassadorRegistry(tmp_path / "ambassadors.yaml")
    assert registry.all() == []
    registry.add(Ambassador.model_validate(MARIE))
    assert registry.by_telegram_id(501).name == "Marie"
    with pytest.raises(ValueError, match="already registered"):
        registry.add(Ambassador.model_validate(MARIE | {"id": "marie-2"}))
    assert registry.set_active("marie", False) and registry.is_active_ambassador(501) is None
    assert (tmp_path / "ambassadors.yaml").stat().st_mode & 0o077 == 0  # personal data: owner only
    other = AmbassadorRegistry(tmp_path / "ambassadors.yaml")  # another replica sees the change
    assert other.get("marie").active is False
    assert registry.remove("marie") and not registry.remove("marie") and other.all() == []


def test_stats_are_exported_for_prometheus():
    from prometheus_client import REGISTRY, generate_latest

    from bot.domain import Stats
    from bot.escalation.metrics import publish

    publish(
        Stats(
            counts={"open": 2, "claimed": 1},
            median_claim_s=420.0,
            median_resolve_s=None,
            ratings={5: 3, 2: 1},
            reasons={"human_requested": 3},
        )
    )
    text = generate_latest(REGISTRY).decode()
    assert 'advisor_escalation_threads{status="open"} 2.0' in text
    assert "advisor_escalation_median_claim_seconds 420.0" in text
    assert 'advisor_escalation_ratings{stars="5"} 3.0' in text and 'advisor_escalation_ratings{stars="4"} 0.0' in text
    assert 'advisor_escalation_reasons{reason="human_requested"} 3.0' in text


async def test_export_holds_the_users_threads_rating_comment_and_faq_drafts(service, store, clock):
    """/export: everything stored about the SME, their ambassador threads and the FAQ drafts made
    from their questions included; the ambassadors' own identities are not the SME's data."""
    user, record, _ = await open_for(service, store)
    await service.claim(record.id, 501)
    clock.advance(minutes=5)
    await service.resolve(record.id, 501)
    assert await service.rate(record.id, user.id, 5, "Quick and clear, thank you")
    draft = await service.draft_faq(record.id, 501, "Reusable crates: ask ADEME's circular fund.", [])
    assert getattr(draft, "question", None)
    data = await store.export_user(user.id)
    (thread,) = data["ambassador_threads"]
    assert thread["status"] == "resolved" and thread["rating"] == 5
    assert thread["rating_comment"] == "Quick and clear, thank you"
    assert thread["dossier"]["question"] == "Can we get a grant for reusable crates?"
    assert [e["to"] for e in thread["events"] if e["to"]] == ["open", "claimed", "resolved"]
    assert data["faq_drafts_from_your_questions"][0]["answer"].startswith("Reusable crates")
    assert "marie" not in str(data) and "501" not in str(thread)


async def test_thread_ids_are_never_reused(service, store):
    """An ambassador's old "#N" buttons must never act on another SME's thread."""
    first_user, first, _ = await open_for(service, store, telegram_id=9101)
    await store.delete_user(first_user.id)  # /forget: the thread goes with the user
    _, second, _ = await open_for(service, store, telegram_id=9102)
    assert second.id != first.id and second.id > first.id


# --- the hand-over's decisions, channel-neutral (Telegram and the terminal carry them out) -------
async def test_a_command_means_the_named_thread_the_topic_or_the_only_claimed_one(service, store):
    _, record, _ = await open_for(service, store)
    await service.db.set_forum(record.id, -100, 42, None)
    assert await service.thread_meant(501, f"#{record.id}", None) == record.id
    assert await service.thread_meant(501, None, (-100, 42)) == record.id
    assert await service.thread_meant(501, None, None) is None  # nothing claimed yet
    assert (await service.command("resolve", 501, argument=None, topic=None)).refused == "which_thread"
    assert (await service.command("claim", 999, argument=str(record.id), topic=None)).refused == "not_ambassador"
    await service.claim(record.id, 501)
    assert await service.thread_meant(501, None, None) == record.id
    assert (await service.command("resolve", 501, argument=None, topic=None)).escalation.status == Status.resolved
    assert (await service.queue(999)).refused == "not_ambassador"
    events = [e.action for e in await service.db.events(record.id)]
    assert "refused_claim" in events


async def test_sme_messages_wait_for_the_claimer_and_reach_them_as_text(service, store):
    _, record, _ = await open_for(service, store)
    said = ChatMessage(chat_id=9001, message_id=5, text="We make 3 tonnes a month.")
    photo = ChatMessage(chat_id=9001, message_id=6, text="[photo] Our sawdust", media=True)
    assert await service.relay_from_sme(record, said) is None  # nobody to send it to yet: kept
    assert await service.relay_from_sme(record, said) is None  # a redelivered update: kept once
    assert await service.relay_from_sme(record, photo) is None
    await service.claim(record.id, 501)
    pending = await service.pending_for(record, service.registry.get("marie"))
    assert [(d.target_chat, d.text, d.as_text) for d in pending] == [
        (501, "We make 3 tonnes a month.", True),
        (501, None, False),  # a photo is copied as it is
    ]
    record = await service.db.get(record.id)
    later = await service.relay_from_sme(record, ChatMessage(chat_id=9001, message_id=7, text="Any news?"))
    assert later is not None and later.target_chat == 501  # claimed: straight to Marie


async def test_only_the_claimer_speaks_to_the_sme(service, store):
    _, record, _ = await open_for(service, store)
    answer = ChatMessage(chat_id=501, message_id=1, text="Try reusable crates.")
    assert (await service.relay_answer(record.id, 501, answer)).refused == "claim_first"
    await service.claim(record.id, 501)
    assert (await service.relay_answer(record.id, 502, answer)).refused == "not_yours"
    relayed = await service.relay_answer(record.id, 501, answer)
    assert relayed.ok and relayed.delivery.target_chat == 9001 and relayed.delivery.stored_message_id


async def test_only_the_claimer_gets_providers_to_introduce_and_they_fit_the_question(service, store):
    directory = Catalog(REPO / "knowledge").providers
    user, record, _ = await open_for(service, store)
    assert (await service.providers_to_introduce(record.id, 501, directory)).refused == "claim_first"
    await service.claim(record.id, 501)
    assert (await service.providers_to_introduce(record.id, 502, directory)).refused == "not_yours"
    offer = await service.providers_to_introduce(record.id, 501, directory)
    question = record.dossier["question"]
    expected = [m.provider for m in directory.match(question) or directory.match()][:3]
    assert offer.refused is None and offer.providers == expected and offer.escalation.id == record.id
    assert (await service.providers_to_introduce(record.id, 501, ProviderDirectory([]))).refused == "no_providers"

    chosen = await service.provider_chosen(record.id, 501, expected[0].id, directory)
    assert chosen.providers == [expected[0]] and chosen.sme.id == user.id
    assert (await service.provider_chosen(record.id, 501, "no-such-provider", directory)).refused == "not_found"
    assert (await service.provider_chosen(record.id, 502, expected[0].id, directory)).refused == "not_yours"


async def test_the_comment_window_closes_after_thirty_minutes(service, store, clock):
    user, record, _ = await open_for(service, store)
    await service.claim(record.id, 501)
    await service.resolve(record.id, 501)
    assert await service.thread_to_comment(record.id, user.id + 1) is None  # another SME's thread
    await service.open_comment_window(record.id, user.id)
    assert await service.take_comment(await store.get_user(user.id), "Clear and quick.")
    assert (await service.db.get(record.id)).rating_comment == "Clear and quick."
    await service.open_comment_window(record.id, user.id)
    clock.advance(minutes=31)
    assert not await service.take_comment(await store.get_user(user.id), "Another question: what is EPR?")
    assert (await store.get_user(user.id)).flow is None  # a later message is a new question


def test_the_hand_over_policy(service):
    from bot.advisor.models import AdvisorReply, Escalation, EscalationReason, Triage

    def reply(reason):
        escalation = Escalation(reason=reason, detail="") if reason else None
        return AdvisorReply(
            answer="",
            language="en",
            confidence=0,
            triage=Triage.escalate,
            escalation=escalation,
            mode="handover",
            standalone_question="",
        )

    assert service.opens_thread(reply(EscalationReason.human_requested))
    assert service.opens_thread(reply(EscalationReason.needs_judgement))
    assert not service.opens_thread(reply(EscalationReason.low_confidence))  # offered, not opened
    assert not service.opens_thread(reply(None))
