"""`advisor content stats|stale|check`: what the knowledge base holds and what needs attention."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.knowledge.audit import DEFAULT_MAX_AGE_DAYS, Problem, broken_links, counts, expired, stale
from bot.knowledge.catalog import Catalog
from bot.knowledge.loaders import ContentInvalid, load_corpus

content_app = typer.Typer(help="Knowledge-base maintenance: counts, stale items, problems.", no_args_is_help=True)
console = Console()

MaxAge = Annotated[int, typer.Option("--max-age-days", min=1, help="Verification age after which an item is stale.")]
Today = Annotated[str | None, typer.Option(help="Check as of this date (YYYY-MM-DD) instead of today.")]


def _load():
    from bot.config import get_settings

    root = get_settings().knowledge_dir
    try:
        return Catalog(root), load_corpus([root])
    except ContentInvalid as exc:
        for error in exc.errors:
            console.print(str(error), markup=False, highlight=False)
        raise typer.Exit(1) from None


def _date(value: str | None) -> dt.date:
    return dt.date.fromisoformat(value) if value else dt.date.today()


@content_app.command("stats")
def stats() -> None:
    """Counts: schemes (per country and status), modules, cases, glossary, translations."""
    catalog, _ = _load()
    c = counts(catalog)
    table = Table(title="Knowledge base", show_edge=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in (
        ("funding schemes", c.schemes),
        ("countries with national schemes", c.countries),
        ("schemes stating an amount or a rate", c.schemes_with_amount_or_rate),
        ("training modules", c.modules),
        ("good-practice cases", c.cases),
        ("glossary terms", c.glossary_terms),
    ):
        table.add_row(label, str(value))
    console.print(table)
    console.print("schemes by status: " + ", ".join(f"{k} {v}" for k, v in sorted(c.schemes_by_status.items())))
    console.print("schemes per country: " + ", ".join(f"{k} {v}" for k, v in c.schemes_per_country.items()))
    console.print("translated items: " + ", ".join(f"{k} {v}" for k, v in c.translations.items()))


@content_app.command("stale")
def stale_command(max_age_days: MaxAge = DEFAULT_MAX_AGE_DAYS, today: Today = None) -> None:
    """Items whose facts were last verified longer ago than the verification age."""
    _, docs = _load()
    found = stale(docs, _date(today), max_age_days)
    _print(found, f"Nothing older than {max_age_days} days.")


@content_app.command("check")
def check(max_age_days: MaxAge = DEFAULT_MAX_AGE_DAYS, today: Today = None) -> None:
    """Stale items, schemes open past their deadline and broken internal links; exit 1 on any."""
    catalog, docs = _load()
    when = _date(today)
    found = stale(docs, when, max_age_days) + expired(catalog, when) + broken_links(catalog, docs)
    _print(found, "No problem found.")
    if found:
        raise typer.Exit(1)


def _print(found: list[Problem], none: str) -> None:
    if not found:
        console.print(none)
        return
    table = Table(show_edge=False)
    for column in ("item", "problem", "detail"):
        table.add_column(column)
    for p in found:
        table.add_row(p.item, p.kind, p.detail)
    console.print(table)
    console.print(f"{len(found)} item(s) need attention.")
