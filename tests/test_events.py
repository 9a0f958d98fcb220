"""Events and site visits (issue #20): ambassadors post upcoming events, SMEs see relevant ones.
The store keeps and filters them (SQLite and PostgreSQL), past ones are never shown, a draft is
validated against the knowledge base's vocabularies, `advisor events` refuses bad input with one
line and exit 2, and /events and /event_add answer through the real Telegram handlers."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from bot.config import get_settings
from bot.escalation.events import EventBoard, EventDraft, TelegramSyntaxError, from_telegram, problem
from bot.i18n.dates import long_date
from bot.store.calendar import CalendarStore, over_at
from tests.conftest import make_settings
from tests.fake_telegram import parse_html
from tests.telegram_support import message_update, recorded_bot

NOW = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
AMBASSADOR_ID = 100_000_001


def draft(**fields) -> EventDraft:
    values = {
        "title": "Open day at a repair workshop",
        "kind": "site-visit",
        "starts_at": "2027-03-12",
        "country": "DK",
        "topics": ["repair"],
        "url": "https://example.org/open-day",
        "posted_by": "ambassador:example-marie",
    }
    return EventDraft.model_validate(values | fields, context={"today": TODAY})


async def add(store, *, title: str, day: dt.date, country: str = "DK", topics=("repair",), kind: str = "workshop"):
    """An event written straight to the store (past ones included: drafts refuse those)."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return await CalendarStore(store).add(
        title=title,
        kind=kind,
        starts_at=start,
        ends_at=None,
        all_day=True,
        country=country,
        place="Aarhus" if country == "DK" else None,
        topics=list(topics),
        url="https://example.org/e",
        description="",
        posted_by="operator",
        now=NOW,
    )


# --- the store ------------------------------------------------------------------------------------


async def test_an_event_round_trips_and_past_ones_are_hidden(store):
    board = EventBoard(store, clock=lambda: NOW)
    posted = await board.post(draft(ends_at="2027-03-13", place="Aarhus", description="Bring safety shoes."))
    again = await CalendarStore(store).get(posted.id)
    assert again == posted
    assert (again.title, again.kind, again.country, again.topics) == (
        "Open day at a repair workshop",
        "site-visit",
        "DK",
        ["repair"],
    )
    assert again.all_day and again.starts_at == dt.datetime(2027, 3, 12, tzinfo=dt.UTC)
    assert again.visible_until == dt.datetime(2027, 3, 14, tzinfo=dt.UTC)  # the end of its last day
    assert again.url == "https://example.org/open-day" and again.posted_by == "ambassador:example-marie"

    yesterday = await add(store, title="Yesterday's workshop", day=TODAY - dt.timedelta(days=1))
    today = await add(store, title="Today's workshop", day=TODAY)  # shown until the day is over
    shown = [e.title for e in await board.listed()]
    assert shown == ["Today's workshop", "Open day at a repair workshop"]
    assert yesterday.id in {e.id for e in await board.listed(include_past=True)}
    assert await board.remove(today.id) and not await board.remove(today.id)
    assert [e.title for e in await board.listed()] == ["Open day at a repair workshop"]


async def test_filters_by_country_with_europe_wide_and_by_topic(store):
    board = EventBoard(store, clock=lambda: NOW)
    await add(store, title="DK repair", day=TODAY + dt.timedelta(days=3))
    await add(store, title="FR eco-design", day=TODAY + dt.timedelta(days=1), country="FR", topics=("eco-design",))
    await add(store, title="EU webinar", day=TODAY + dt.timedelta(days=9), country="EU", topics=("repair", "epr"))
    await add(store, title="FR repair", day=TODAY + dt.timedelta(days=2), country="FR")
    assert [e.title for e in await board.listed(country="dk")] == ["DK repair", "EU webinar"]
    assert [e.title for e in await board.listed(topic="repair")] == ["FR repair", "DK repair", "EU webinar"]
    assert [e.title for e in await board.listed(country="FR", topic="repair")] == ["FR repair", "EU webinar"]
    # /events: the SME's country and Europe-wide first, then elsewhere, each by date; at most five
    assert [e.title for e in await board.for_sme("DK")] == ["DK repair", "EU webinar", "FR eco-design", "FR repair"]
    assert [e.title for e in await board.for_sme(None, "repair", limit=2)] == ["EU webinar", "FR repair"]


def test_a_timed_event_is_over_at_its_end():
    start = dt.datetime(2027, 3, 12, 10, tzinfo=dt.UTC)
    assert over_at(start, None, all_day=False) == start
    assert over_at(start, start + dt.timedelta(hours=2), all_day=False) == start + dt.timedelta(hours=2)


# --- the draft: one boundary for every channel ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"starts_at": "2027-02-28"}, "date: 2027-02-28 is in the past (today is 2027-03-01)"),
        ({"starts_at": "12/03/2027"}, "date: not a date '12/03/2027'"),
        ({"kind": "party"}, "kind: unknown kind; use one of: site-visit, workshop, demonstration, webinar, other"),
        ({"country": "XX"}, "country: unknown country 'XX'"),
        ({"topics": ["knitting"]}, "topic: unknown topic knitting; use one of:"),
        ({"topics": []}, "topic: "),
        ({"url": "ftp://example.org/x"}, "url: not a web address; it starts with http:// or https://"),
        ({"url": "javascript:alert(1)"}, "url: not a web address"),
        ({"ends_at": "2027-03-11"}, "end: the end is before the start"),
        ({"title": "  "}, "title: "),
    ],
)
def test_a_bad_draft_is_refused_with_one_line(fields, says):
    with pytest.raises(ValidationError) as caught:
        draft(**fields)
    line = problem(caught.value)
    assert line.startswith(says) and "\n" not in line


def test_dates_times_countries_and_topics_are_read_leniently():
    timed = draft(starts_at="2027-03-12T10:00", country="eu", topics=["Repair", "repair", "epr"])
    assert timed.starts_at == dt.datetime(2027, 3, 12, 10, tzinfo=dt.UTC) and not timed.all_day
    assert timed.country == "EU" and timed.topics == ["repair", "epr"]
    assert draft().all_day and draft(starts_at="2027-03-01").starts_at == TODAY  # today is not past


def test_the_telegram_syntax():
    got = from_telegram(
        "2027-03-12 DK site-visit repair Open day at Reparo | https://example.org/x | See repairs live.",
        "ambassador:marie",
        today=TODAY,
    )
    assert (got.kind, got.country, got.topics, got.title) == ("site-visit", "DK", ["repair"], "Open day at Reparo")
    assert str(got.url) == "https://example.org/x" and got.description == "See repairs live."
    plain = from_telegram("2027-03-12 EU epr Producer responsibility webinar", "ambassador:marie", today=TODAY)
    assert plain.kind == "other" and plain.url is None and plain.country == "EU"
    with pytest.raises(TelegramSyntaxError):
        from_telegram("2027-03-12 DK repair", "ambassador:marie", today=TODAY)
    with pytest.raises(ValidationError):
        from_telegram("2027-03-12 DK knitting Open day", "ambassador:marie", today=TODAY)


# --- advisor events ---------------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch, tmp_path):
    from bot.cli import app

    monkeypatch.setenv("ADVISOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ADVISOR_AMBASSADORS_FILE", str(tmp_path / "ambassadors.yaml"))
    (tmp_path / "ambassadors.yaml").write_text(yaml.safe_dump({"ambassadors": [MARIE]}))

    def run(*args: str):
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})
        finally:
            get_settings.cache_clear()

    return run


def test_advisor_events_add_list_remove(cli):
    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    common = ["events", "add", "--title", "Open day at Reparo", "--date", later, "--country", "DK", "--topic", "repair"]
    added = cli(*common, "--kind", "site-visit", "--url", "https://example.org/open", "--by", "example-marie")
    assert added.exit_code == 0, added.output
    assert added.output.startswith(f"Posted event #1: Open day at Reparo (site-visit, DK, {later}).")
    listed = cli("events", "list", "--country", "DK", "--topic", "repair")
    assert (
        listed.exit_code == 0 and "Open day at Reparo" in listed.output and "ambassador:example-marie" in listed.output
    )
    assert "No upcoming events." in cli("events", "list", "--country", "FR").output
    assert "No upcoming events." in cli("events", "list", "--topic", "epr").output
    assert cli("events", "remove", "1").exit_code == 0
    gone = cli("events", "remove", "1")
    assert gone.exit_code == 1 and "no event #1" in gone.output


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (("--date", "2020-01-01"), "error: date: 2020-01-01 is in the past"),
        (("--kind", "party"), "error: kind: unknown kind"),
        (("--country", "XX"), "error: country: unknown country 'XX'"),
        (("--topic", "knitting"), "error: topic: unknown topic knitting"),
        (("--url", "ftp://example.org"), "error: url: not a web address"),
        (("--by", "nobody"), "error: no ambassador 'nobody' in the directory"),
    ],
)
def test_advisor_events_add_refuses_bad_input_with_one_line_and_exit_2(cli, change, says):
    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    options = {"--title": "Open day", "--date": later, "--country": "DK", "--topic": "repair"}
    options[change[0]] = change[1]
    result = cli("events", "add", *itertools.chain.from_iterable(options.items()))
    assert result.exit_code == 2, result.output
    assert result.output.startswith(says) and result.output.count("\n") == 1, result.output


def test_advisor_events_list_refuses_unknown_filters(cli):
    assert cli("events", "list", "--country", "XX").exit_code == 2
    assert cli("events", "list", "--topic", "knit").exit_code == 2


# --- Telegram: /events and /event_add through the real handlers ------------------------------------------

MARIE = {
    "id": "example-marie",
    "name": "Example: Marie",
    "telegram_user_id": AMBASSADOR_ID,
    "languages": ["fr", "en"],
    "countries": ["FR"],
    "expertise": ["repair"],
}
_users = itertools.count(90_000)


@pytest.fixture
async def app(tmp_path):
    (tmp_path / "kb").mkdir()
    (tmp_path / "ambassadors.yaml").write_text(yaml.safe_dump({"ambassadors": [MARIE]}))
    settings_ = make_settings(
        tmp_path,
        knowledge_dir=tmp_path / "kb",
        telegram_token="123:TEST",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        ambassadors_file=tmp_path / "ambassadors.yaml",
    )
    advisor = SimpleNamespace()  # /events and /event_add never ask the advisor
    async with recorded_bot(settings_, advisor, catalog_dir=tmp_path / "kb") as application:
        yield application


async def sent(app, update) -> list[str]:
    """The plain texts the bot sent for this update, each one Telegram would accept."""
    start = len(app.recorder.calls)
    await app.process_update(update)
    texts = []
    for method, params in app.recorder.calls[start:]:
        if method == "sendMessage":
            text = params["text"]
            if params.get("parse_mode") == "HTML":
                text, _ = parse_html(text)  # raises on HTML Telegram would refuse
            texts.append(text)
    return texts


async def sme(app, lang: str, country: str | None) -> int:
    uid = next(_users)
    user = await app.svc.store.get_or_create_user(telegram_id=uid, language=lang)
    if country:
        await app.svc.store.update_profile(user.id, country=country)
    return uid


async def test_events_in_french_for_a_french_sme_with_the_topic_filter(app):
    store = app.svc.store
    today = dt.date.today()
    await add(store, title="Atelier d'hier", day=today - dt.timedelta(days=1), country="FR")
    await add(store, title="Visite à Lyon", day=today + dt.timedelta(days=10), country="FR", kind="site-visit")
    await add(
        store, title="Webinaire REP", day=today + dt.timedelta(days=5), country="EU", topics=("epr",), kind="webinar"
    )
    await add(store, title="Open day Aarhus", day=today + dt.timedelta(days=1))
    uid = await sme(app, "fr", "FR")

    (reply,) = await sent(app, message_update(app.bot, uid, "/events", language_code="fr"))
    assert reply.startswith("Événements à venir (FR et toute l'Europe d'abord) :")
    assert "Atelier d'hier" not in reply  # past events are never shown
    # FR and Europe-wide first, by date; then elsewhere
    assert reply.index("Webinaire REP") < reply.index("Visite à Lyon") < reply.index("Open day Aarhus")
    assert "Type : Visite de site" in reply and "Type : Webinaire" in reply and "Où : Toute l'Europe" in reply
    assert f"Quand : {long_date(today + dt.timedelta(days=10), 'fr')}" in reply
    assert "En savoir plus : https://example.org/e" in reply and "Où : Aarhus, DK" in reply

    (only,) = await sent(app, message_update(app.bot, uid, "/events epr", language_code="fr"))
    assert "thème : epr" in only and "Webinaire REP" in only and "Visite à Lyon" not in only

    (none,) = await sent(app, message_update(app.bot, uid, "/events eco design", language_code="fr"))
    assert none.startswith("Aucun événement à venir") and "/human" in none
    (unknown,) = await sent(app, message_update(app.bot, uid, "/events tricot", language_code="fr"))
    assert unknown.startswith("Je ne connais pas le thème « tricot »")


async def test_with_no_events_the_sme_is_told_and_pointed_to_an_ambassador(app):
    uid = await sme(app, "en", None)
    (reply,) = await sent(app, message_update(app.bot, uid, "/events"))
    assert reply.startswith("There are no upcoming events in my list") and "/human" in reply


async def test_an_ambassador_posts_an_event_and_others_are_refused(app):
    later = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    line = f"/event_add {later} DK workshop repair Repair café for SMEs | https://example.org/cafe"
    (posted,) = await sent(app, message_update(app.bot, AMBASSADOR_ID, line))
    assert posted.startswith("Posted as event #1") and "advisor events remove 1" in posted
    (event,) = await EventBoard(app.svc.store).listed()
    assert (event.title, event.kind, event.country, event.topics) == (
        "Repair café for SMEs",
        "workshop",
        "DK",
        ["repair"],
    )
    assert event.posted_by == "ambassador:example-marie" and event.url == "https://example.org/cafe"

    (bad,) = await sent(
        app, message_update(app.bot, AMBASSADOR_ID, "/event_add 2020-01-01 DK repair Old | https://x.org")
    )
    assert bad.startswith("I could not post this event: date: 2020-01-01 is in the past") and "/event_add DATE" in bad
    (usage,) = await sent(app, message_update(app.bot, AMBASSADOR_ID, "/event_add"))
    assert usage.startswith("Post an event: /event_add DATE COUNTRY [KIND] TOPIC TITLE")

    stranger = await sme(app, "fr", "FR")
    (refused,) = await sent(app, message_update(app.bot, stranger, line, language_code="fr"))
    assert refused.startswith("Seuls les ambassadeurs de l'économie circulaire peuvent publier des événements")
    assert len(await EventBoard(app.svc.store).listed()) == 1


async def test_hostile_arguments_get_a_short_answer_telegram_accepts(app):
    uid = await sme(app, "en", "DK")
    (reply,) = await sent(app, message_update(app.bot, uid, "/events <b>" + "&x" * 3000))
    assert reply.startswith("I don't know the topic “<b>&x&x") and len(reply) < 1500
    later = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    for line in (
        f"/event_add {later} DK repair " + "<i>" * 100,  # a title too long
        f"/event_add {later} DK repair Fine title | <script>",
        "/event_add \x00 \u202e x y z",
        f"/event_add {later}T25:00 DK repair Late",
    ):
        (answer,) = await sent(app, message_update(app.bot, AMBASSADOR_ID, line))
        assert answer.startswith("I could not post this event:") and len(answer) < 1500, answer
    assert await EventBoard(app.svc.store).listed() == []
