"""`advisor ambassadors ...`, `advisor escalations stats` and `advisor faq review`."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bot.config import get_settings
from bot.escalation.registry import AmbassadorRegistry, AmbassadorsInvalid
from bot.knowledge.schema import Ambassador

if TYPE_CHECKING:  # imported where used: the other commands start faster without them
    from bot.escalation.service import EscalationService

T = TypeVar("T")

ambassadors_app = typer.Typer(help="The ambassador directory (knowledge/ambassadors.yaml).", no_args_is_help=True)
escalations_app = typer.Typer(help="Threads handed to ambassadors.", no_args_is_help=True)
faq_app = typer.Typer(help="FAQ drafts from ambassadors' answers.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _registry() -> AmbassadorRegistry:
    path = get_settings().ambassadors_file
    assert path is not None  # Settings fills it in
    return AmbassadorRegistry(path)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)  # one line, however long
    raise typer.Exit(1)


def _editable() -> AmbassadorRegistry:
    """The directory as the file holds it now: a broken file is reported, never listed as empty
    or overwritten by an edit."""
    registry = _registry()
    try:
        registry.load()
    except AmbassadorsInvalid as exc:
        _fail(escape(str(exc)))
    return registry


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


# --- ambassadors ---------------------------------------------------------------------------------
@ambassadors_app.command("list")
def list_ambassadors() -> None:
    """Everyone in the directory, with their current load."""
    registry = _editable()
    loads = _run(_with_service(lambda svc: svc.db.loads()))
    table = Table(show_edge=False)
    for column in ("id", "name", "telegram id", "languages", "countries", "expertise", "load", "active"):
        table.add_column(column)
    for a in registry.all():
        table.add_row(
            a.id,
            a.name,
            str(a.telegram_user_id),
            ",".join(a.languages),
            ",".join(a.countries),
            ",".join(a.expertise),
            f"{loads.get(a.id, 0)}/{a.capacity}",
            "yes" if a.active else "paused",
        )
    console.print(table if registry.all() else f"No ambassadors in {registry.path}.")


@ambassadors_app.command("add")
def add_ambassador(
    ambassador_id: Annotated[str, typer.Argument(help="A stable slug, e.g. marie-dupont")],
    name: Annotated[str, typer.Option(help="Shown to SMEs")],
    telegram_id: Annotated[int, typer.Option(help="The numeric Telegram user id")],
    languages: Annotated[str, typer.Option(help="Comma-separated ISO 639-1 codes, e.g. fr,en")],
    countries: Annotated[str, typer.Option(help="Comma-separated ISO 3166 codes, e.g. FR,BE (EU for EU-wide)")],
    expertise: Annotated[str, typer.Option(help="Comma-separated topics, e.g. eco-design,lca")],
    capacity: Annotated[int, typer.Option(help="Threads handled at once")] = 5,
) -> None:
    """Add (or replace) an ambassador; validated against the content schema."""
    try:
        ambassador = Ambassador(
            id=ambassador_id,
            name=name,
            telegram_user_id=telegram_id,
            languages=_csv(languages),
            countries=_csv(countries),
            expertise=_csv(expertise),
            capacity=capacity,
        )
        _registry().add(ambassador)
    except ValueError as exc:
        _fail(str(exc))
    console.print(f"Added {ambassador_id}. They must send /start to the bot once so that it can reach them.")


@ambassadors_app.command("remove")
def remove_ambassador(ambassador_id: str) -> None:
    """Remove an ambassador from the directory (their past threads keep their id)."""
    if not _editable().remove(ambassador_id):
        _fail(f"no ambassador {ambassador_id!r}")
    console.print(f"Removed {ambassador_id}.")


@ambassadors_app.command("pause")
def pause_ambassador(ambassador_id: str) -> None:
    """Stop sending new threads to an ambassador (holidays); their claimed threads stay theirs."""
    if not _editable().set_active(ambassador_id, False):
        _fail(f"no ambassador {ambassador_id!r}")
    console.print(f"Paused {ambassador_id}.")


@ambassadors_app.command("resume")
def resume_ambassador(ambassador_id: str) -> None:
    """Send new threads to a paused ambassador again."""
    if not _editable().set_active(ambassador_id, True):
        _fail(f"no ambassador {ambassador_id!r}")
    console.print(f"Resumed {ambassador_id}.")


# --- escalations ---------------------------------------------------------------------------------
async def _with_service(action: Callable[[EscalationService], Awaitable[T]]) -> T:
    from bot.escalation.service import EscalationService
    from bot.store import Store

    url = get_settings().database_url
    assert url is not None  # Settings fills it in
    store = await Store.open(url)
    try:
        return await action(EscalationService(store, _registry()))
    finally:
        await store.close()


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def _record_review(
    svc: EscalationService, *, draft_id: int, status: str, reviewer: str, faq_id: str | None, question: str, answer: str
) -> None:
    await svc.db.review_draft(draft_id, status, reviewer, dt.datetime.now(dt.UTC), faq_id, question, answer)


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f} min"


@escalations_app.command("stats")
def stats(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False) -> None:
    """Open/claimed/resolved counts, median times to claim and resolve, ratings, top reasons."""
    figures = _run(_with_service(lambda svc: svc.stats()))
    if as_json:
        console.print_json(json.dumps(figures.model_dump()))
        return
    table = Table(title="Escalations", show_edge=False, show_header=False)
    for status, count in figures.counts.items():
        table.add_row(status.replace("_", " "), str(count))
    table.add_row("median time to claim", _minutes(figures.median_claim_s))
    table.add_row("median time to resolve", _minutes(figures.median_resolve_s))
    rated = sum(figures.ratings.values())
    table.add_row("ratings", ", ".join(f"{k}★ {v}" for k, v in figures.ratings.items()) or "none yet")
    if rated:
        mean = sum(k * v for k, v in figures.ratings.items()) / rated
        table.add_row("mean rating", f"{mean:.2f} ({rated} rated)")
    table.add_row(
        "top reasons",
        ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in list(figures.reasons.items())[:5]) or "none yet",
    )
    console.print(table)


# --- FAQ review ------------------------------------------------------------------------------------
@faq_app.command("review")
def review(
    reviewer: Annotated[str, typer.Option(help="Your name, recorded on approved entries")],
    approve: Annotated[list[int] | None, typer.Option(help="Approve draft N without prompting")] = None,
    reject: Annotated[list[int] | None, typer.Option(help="Reject draft N without prompting")] = None,
    ingest: Annotated[bool, typer.Option(help="Re-index the knowledge base after approving")] = True,
) -> None:
    """Approve, edit or reject ambassadors' answers marked reusable; approved ones are indexed."""
    from bot.escalation.faq import entry_for, publish

    settings = get_settings()
    decisions = {n: "approve" for n in approve or []} | {n: "reject" for n in reject or []}
    drafts = _run(_with_service(lambda svc: svc.db.drafts()))
    if not drafts:
        console.print("No drafts to review.")
        return
    approved = 0
    for draft in drafts:
        choice = decisions.get(draft.id)
        question, answer = draft.question, draft.answer
        if choice is None:
            if decisions:
                continue  # non-interactive: only the drafts named
            console.print(Panel(f"[bold]{question}[/]\n\n{answer}", title=f"Draft {draft.id} by {draft.author}"))
            choice = typer.prompt("approve / edit / reject / skip", default="skip")
            if choice == "edit":
                question = typer.prompt("Question", default=question)
                answer = click.edit(answer) or answer  # None: the editor was closed without saving
                choice = "approve"
        if choice not in ("approve", "reject"):
            continue
        today = dt.date.today()
        if choice == "approve":
            edited = draft.model_copy(update={"question": question, "answer": answer})
            try:
                entry = entry_for(edited, reviewer, today)
            except ValueError as exc:
                err.print(f"Draft {draft.id} is not a valid FAQ entry yet: {exc}")
                continue
            assert settings.faq_approved_file is not None  # Settings fills it in
            publish(settings.faq_approved_file, entry)
            approved += 1
        faq = entry.id if choice == "approve" else None
        status = "approved" if choice == "approve" else "rejected"
        record = partial(
            _record_review,
            draft_id=draft.id,
            status=status,
            reviewer=reviewer,
            faq_id=faq,
            question=question,
            answer=answer,
        )
        _run(_with_service(record))
        console.print(f"Draft {draft.id}: {status}" + (f" as {faq}" if faq else ""))
    if approved and ingest:
        from bot.knowledge.base import KnowledgeBase

        report = KnowledgeBase.open(settings).sync()
        console.print(f"Indexed: {sum(report.embedded.values())} chunk(s) embedded.")
