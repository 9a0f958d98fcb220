"""`advisor`: the command line for SMEs (chat, ask), maintainers (ingest, search) and operators."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.config import get_settings
from bot.knowledge.ingest import IngestReport
from bot.knowledge.loaders import ContentInvalid
from bot.knowledge.retrieve import Filters

app = typer.Typer(
    help="circular-advisor: circular-economy advice for SMEs, from the command line.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def open_knowledge(rebuild: bool = False):
    from bot.knowledge.base import KnowledgeBase
    from bot.knowledge.index import EmbeddingModelMismatch

    try:
        return KnowledgeBase.open(get_settings(), rebuild=rebuild)
    except EmbeddingModelMismatch as exc:
        fail(str(exc))
    except Exception as exc:  # Chroma server down, unreadable folder
        settings = get_settings()
        where = (
            f"{settings.chroma_host}:{settings.chroma_port}"
            if settings.chroma_mode == "http"
            else str(settings.chroma_path)
        )
        fail(f"cannot open the knowledge index at {where}: {exc}")


def run_ingest(kb, paths: list[Path] | None, quiet: bool = False) -> IngestReport:
    """Sync the index with a progress bar; on a content error, list every problem and stop."""
    columns = (
        TextColumn("[bold]Embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=quiet) as bar:
            task = bar.add_task("embed", total=None)
            report = kb.sync(
                paths,
                progress=lambda done, total: bar.update(task, completed=done),
                on_total=lambda total: bar.update(task, total=total, visible=total > 0),
            )
    except ContentInvalid as exc:
        err.print(
            f"[bold red]Ingestion stopped: {len(exc.errors)} problem(s); nothing was written.[/]"
        )
        for problem in exc.errors:
            err.print(f"  {problem}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    return report


def print_report(report: IngestReport) -> None:
    table = Table(title="Knowledge index", show_edge=False)
    table.add_column("kind")
    table.add_column("sources", justify="right")
    table.add_column("chunks", justify="right")
    table.add_column("embedded now", justify="right")
    for kind in sorted(report.documents):
        table.add_row(
            kind,
            str(report.documents[kind]),
            str(report.chunks[kind]),
            str(report.embedded[kind]),
        )
    table.add_row(
        "[bold]total",
        str(sum(report.documents.values())),
        str(sum(report.chunks.values())),
        str(sum(report.embedded.values())),
    )
    console.print(table)
    if report.deleted:
        gone = ", ".join(report.deleted_sources) or "changed chunks"
        console.print(f"Deleted {report.deleted} stale chunk(s) ({gone}).")
    if not report.changed:
        console.print("Nothing changed: the index is up to date, nothing was embedded.")


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Folders or files to index (default: the shipped knowledge/)."),
    ] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Drop the index and embed everything again.")
    ] = False,
) -> None:
    """Validate and index knowledge content; only new or changed chunks are embedded."""
    for path in paths or []:
        if not path.exists():
            fail(f"{path}: no such file or folder")
    kb = open_knowledge(rebuild=rebuild)
    print_report(run_ingest(kb, paths))


def ensure_index(kb) -> None:
    """First run builds the index from knowledge/; later runs pick up edited content."""
    if kb.is_empty():
        console.print("First run: building the knowledge index from the shipped content…")
    report = run_ingest(kb, None, quiet=not kb.is_empty())
    if report.changed and sum(report.embedded.values()) and kb.index.count():
        console.print(
            f"Index updated: {sum(report.embedded.values())} chunk(s) embedded, "
            f"{sum(report.chunks.values())} in total."
        )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in any language.")],
    country: Annotated[str | None, typer.Option(help="ISO country code, e.g. FR.")] = None,
    kind: Annotated[
        list[str] | None, typer.Option(help="module, funding, faq or document (repeatable).")
    ] = None,
    instrument: Annotated[list[str] | None, typer.Option(help="grant, loan, voucher, ...")] = None,
    topic: Annotated[list[str] | None, typer.Option(help="Topic, e.g. eco-design.")] = None,
    k: Annotated[int, typer.Option("-k", help="How many passages.")] = 5,
) -> None:
    """Search the knowledge base (hybrid dense + BM25) and print the best passages."""
    if not query.strip():
        fail("the query is empty")
    try:
        filters = Filters(
            country=country, kinds=kind or [], instruments=instrument or [], topics=topic or []
        )
    except ValueError as exc:
        fail(f"invalid filter: {exc}")
    kb = open_knowledge()
    if kb.is_empty():
        ensure_index(kb)
    results = kb.search(query, k=k, filters=filters)
    if not results:
        console.print("No matching passages.")
        raise typer.Exit(0)
    table = Table(show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("source")
    table.add_column("passage", ratio=3)
    for i, p in enumerate(results, 1):
        src = f"[bold]{p.title}[/]\n{p.source_id} ({p.kind})"
        if p.countries:
            src += f"\n{', '.join(p.countries)}"
        if p.url:
            src += f"\n[link={p.url}]{p.url}[/link]"
        snippet = p.passage if len(p.passage) < 400 else p.passage[:400] + "…"
        table.add_row(
            str(i), f"{p.score:.3f}", src, (p.section + "\n" if p.section else "") + snippet
        )
    console.print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema (also done automatically on start)."""
    from bot.store import Store

    async def go():
        store = await Store.open(get_settings().database_url)
        await store.close()

    asyncio.run(go())
    console.print("Database schema is up to date.")


if __name__ == "__main__":
    app()
