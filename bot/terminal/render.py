"""What the terminal chat prints: the advisor's replies with their sources, the profile, the help,
and a thread with the ambassadors as the user sees it (bot/telegram/render.py is Telegram's).

Everything goes through `console`, so that a test reads what a user would.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot.advisor.models import AdvisorReply
from bot.domain import EscalationRecord
from bot.escalation.plans import Handover, Inbox
from bot.i18n import pick_language, t
from bot.i18n.profile import profile_lines
from bot.store import UserRecord
from bot.tools.calculator import worth_suggesting

if TYPE_CHECKING:
    from bot.advisor.pipeline import Advisor

console = Console()

CHAT_HELP = """Type your question and press Enter. Commands:
  /profile country=FR sector=textiles size=small lang=fr   tell the advisor about your company
  /sources    show the passages behind the last answer
  /new        start a new conversation
  /quit       leave (or Ctrl-D)"""
THREAD_HELP = """  /human      talk to a circular-economy ambassador (a person)
  /inbox      what the ambassadors wrote (also shown before every prompt: press Enter to check)
  /bot        take your question back from the ambassadors
  /rate 1-5   how the ambassador's help was, once they have resolved your question"""


def chat_help(with_ambassadors: bool) -> str:
    return CHAT_HELP.replace("  /new", THREAD_HELP + "\n  /new") if with_ambassadors else CHAT_HELP


def say(text: str, **options: Any) -> None:
    """A line of the session's own (a confirmation, a refusal); `options` as rich's `print` takes them."""
    console.print(text, **options)


def read_line() -> str:
    """What the user types at the prompt."""
    return console.input("[bold]you>[/] ")


def print_greeting(advisor: Advisor, with_ambassadors: bool) -> None:
    """The first lines of a chat: what answers, and whether a person can take a question here."""
    mode = (
        "a language model"
        if advisor.generator
        else "offline answers composed from the knowledge base (no language model)"
    )
    console.print(f"[bold green]circular-advisor[/] · {kb_size(advisor)} · {mode}")
    if with_ambassadors:
        console.print(
            "I'm an automated advisor. Circular-economy ambassadors (people) can take your question"
            " here too: send /human.\n" + chat_help(with_ambassadors=True)
        )
    else:
        console.print(
            "I'm an automated advisor. Circular-economy ambassadors (people) answer on our Telegram bot,"
            " not in this terminal.\n" + CHAT_HELP
        )


def kb_size(advisor: Advisor) -> str:
    return f"{advisor.kb.index.count()} passages indexed"


# the advisor's replies ---------------------------------------------------------------------
def print_token(text: str) -> None:
    """A piece of an answer as the model writes it."""
    console.print(text, end="", markup=False, highlight=False, soft_wrap=True)


def end_of_stream() -> None:
    console.print()


def print_reply(reply: AdvisorReply, show_passages: bool = False) -> None:
    if console.is_terminal:
        console.print(Panel(Text(reply.answer), title=f"advisor · {reply.mode}", title_align="left"))
    else:
        # Piped (a file, a script, `less`): no box and no hard wrap at 80 columns, so every URL
        # stays whole on one line; whatever shows the text wraps it.
        console.print(Text(f"advisor · {reply.mode}", style="bold"))
        console.print(Text(reply.answer), soft_wrap=True)
    for c in reply.citations:
        line = Text(f"[{c.number}] ", style="bold")
        line.append(c.title)
        if c.url:
            line.append(f"  {c.url}", style="cyan")
        console.print(line, soft_wrap=True)  # a terminal folds it without breaking the link
        if show_passages:
            console.print(Text(c.passage, style="dim"), soft_wrap=True)
    if worth_suggesting(reply):  # an answer about funding or costs: where to work out the savings
        lang = pick_language(reply.language)
        console.print(Text(t("calc_hint", lang, command=f"advisor calc --lang {lang}")), soft_wrap=True)
    decision = f"triage: {reply.triage.value}"
    if reply.escalation:
        decision += f" → needs an ambassador ({reply.escalation.reason.value}: {reply.escalation.detail})"
    console.print(
        Text(
            f"{decision} · language: {reply.language} · confidence: {reply.confidence:.2f}",
            style="dim",
        )
    )


def print_sources(reply: AdvisorReply | None) -> None:
    """/sources: the passages behind the last answer."""
    if reply is None or not reply.citations:
        console.print("No sources yet.")
    for c in reply.citations if reply else []:
        console.print(Text(f"[{c.number}] {c.title}\n", style="bold") + Text(c.passage), soft_wrap=True)


def print_profile(user: UserRecord) -> None:
    """/profile: the company profile, worded as on Telegram, in the user's language."""
    for line in profile_lines(user, user.language):
        console.print(line, markup=False, highlight=False)


# a thread with the ambassadors -------------------------------------------------------------
def print_handover(handover: Handover) -> None:
    """What became of the user's wish for a person."""
    record = handover.escalation
    if record is None:
        console.print("No ambassador is available right now; the advisor goes on answering.")
        return
    if not handover.created:
        console.print(f"You are already talking with the ambassadors (thread #{record.id}); /bot takes it back.")
        return
    assert handover.wait is not None  # a new thread comes with what to expect
    wait = duration(handover.wait)
    expect = f"usually answers within about {wait}" if handover.wait_is_typical else f"aims to answer within {wait}"
    console.print(
        f"[bold]Thread #{record.id}[/] is open: a circular-economy ambassador {expect}, here."
        " What you type now goes to them; press Enter to see their replies, /bot to return to the advisor.",
        highlight=False,
    )


def print_inbox(inbox: Inbox, changed: bool, say_when_empty: bool) -> None:
    """What arrived in the user's thread: that an ambassador took it, their new messages, and then
    whether it ended (so that a last answer is read before the thread's end). `changed`: the
    thread's status is not the one the user last saw."""
    now = inbox.thread
    news = thread_news(now, inbox.ambassador) if changed else None
    if news and now is not None and now.active:
        console.print(news, style="bold", highlight=False)
    for note in inbox.messages:
        line = Text(f"{note.ambassador} (ambassador): ", style="bold magenta") + Text(note.text)
        console.print(line, soft_wrap=True)
    if news and (now is None or not now.active):
        console.print(news, style="bold", highlight=False)
    if say_when_empty and not news and not inbox.messages:
        console.print("No new messages from the ambassadors.")


def duration(delta: dt.timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    return f"{minutes} minutes" if minutes < 120 else f"{round(minutes / 60)} hours"


def thread_news(thread: EscalationRecord | None, ambassador: str | None) -> str:
    """What became of the user's thread, in a line."""
    name = ambassador or "An ambassador"
    if thread is None:
        return "Your thread with the ambassadors is closed; the advisor answers again."
    return {
        "claimed": f"{name}, a circular-economy ambassador, has taken your question.",
        "resolved": f"{name} marked your question resolved; the advisor answers again."
        " How was their help? /rate 1-5 (optional).",
        "returned_to_bot": "The ambassadors handed your question back: the advisor answers again.",
        "expired": "Sorry, no ambassador could take your question in time: the advisor answers again.",
    }.get(thread.status, f"Your thread is {thread.status}.")
