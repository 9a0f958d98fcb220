"""`advisor`: the command line for SMEs (chat, ask), maintainers (ingest, search) and operators."""

from __future__ import annotations

import asyncio
import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, get_args

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.advisor.language import SUPPORTED
from bot.config import get_settings
from bot.escalation.cli import ambassadors_app, escalations_app, faq_app
from bot.knowledge.content_cli import content_app
from bot.knowledge.ingest import IngestReport
from bot.knowledge.loaders import ContentInvalid
from bot.knowledge.retrieve import Filters
from bot.knowledge.schema import CompanySize, Kind, Offer


class _Advisor(typer.Typer):
    """What the operator fixes in the environment ends in one line, not a page of traceback."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            from bot.store.db import DatabaseUnavailable

            if not isinstance(exc, DatabaseUnavailable):
                raise
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            sys.exit(1)


app = _Advisor(
    help="circular-advisor: circular-economy advice for SMEs, from the command line.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ambassadors_app, name="ambassadors")
app.add_typer(escalations_app, name="escalations")
app.add_typer(faq_app, name="faq")
app.add_typer(content_app, name="content")
events_app = typer.Typer(
    help="Upcoming events ambassadors post: site visits, workshops, demonstrations.", no_args_is_help=True
)
app.add_typer(events_app, name="events")

# Closed vocabularies as choices: a typo is a usage error that lists them, not a silent no-match.
KindChoice = StrEnum("KindChoice", {k: k for k in get_args(Kind)})
Language = StrEnum("Language", {code: code for code in SUPPORTED})

console = Console()
err = Console(stderr=True)


# Commands that run as services log at the configured level; the interactive ones only warnings.
SERVICE_COMMANDS = {"run", "purge", "ingest"}


@app.callback()
def _configure(ctx: typer.Context) -> None:
    import logging

    from pydantic import ValidationError

    from bot.config import settings_errors
    from bot.observability.logs import configure_logging

    try:
        settings = get_settings()
    except ValidationError as exc:  # a mistyped variable is the operator's to fix, not a traceback
        for line in settings_errors(exc):
            err.print(f"Configuration error: {line}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    quiet = ctx.invoked_subcommand not in SERVICE_COMMANDS
    configure_logging(settings, min_level=logging.WARNING if quiet else logging.NOTSET)
    if ctx.invoked_subcommand != "run":
        # Alembic narrates each migration at INFO; only the bot's own logs should carry that.
        logging.getLogger("alembic").setLevel(logging.WARNING)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
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
        TextColumn("[bold]Indexing"),
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
        err.print(f"[bold red]Ingestion stopped: {len(exc.errors)} problem(s); nothing was written.[/]")
        for problem in exc.errors:  # one line each, however long the path: editors jump to file:line
            err.print(f"  {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    return report


def print_report(report: IngestReport) -> None:
    table = Table(title="Knowledge index", show_edge=False)
    table.add_column("kind")
    table.add_column("sources", justify="right")
    table.add_column("chunks", justify="right")
    table.add_column("embedded now", justify="right")
    table.add_column("from the vector cache", justify="right")
    for kind in sorted(report.documents):
        table.add_row(
            kind,
            str(report.documents[kind]),
            str(report.chunks[kind]),
            str(report.embedded[kind]),
            str(report.cached[kind]),
        )
    table.add_row(
        "[bold]total",
        str(sum(report.documents.values())),
        str(sum(report.chunks.values())),
        str(sum(report.embedded.values())),
        str(sum(report.cached.values())),
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
    rebuild: Annotated[bool, typer.Option(help="Drop the index and build it again.")] = False,
) -> None:
    """Validate and index knowledge content; only new or changed chunks are embedded."""
    for path in paths or []:
        if not path.exists():
            fail(f"{path}: no such file or folder")
    kb = open_knowledge(rebuild=rebuild)
    print_report(run_ingest(kb, paths))


def ensure_index(kb) -> None:
    """First run builds the index from knowledge/; later runs pick up edited content."""
    first_run = kb.is_empty()
    if first_run:
        console.print("First run: building the knowledge index from the shipped content…")
    report = run_ingest(kb, None, quiet=not first_run)
    embedded, cached = sum(report.embedded.values()), sum(report.cached.values())
    if embedded or cached:
        console.print(
            f"Index updated: {embedded} chunk(s) embedded, {cached} from the shipped vector cache, "
            f"{sum(report.chunks.values())} in total."
        )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in any language.")],
    country: Annotated[str | None, typer.Option(help="ISO country code, e.g. FR.")] = None,
    kind: Annotated[list[KindChoice] | None, typer.Option(help="What kind of content (repeatable).")] = None,
    instrument: Annotated[list[str] | None, typer.Option(help="grant, loan, voucher, ...")] = None,
    topic: Annotated[list[str] | None, typer.Option(help="Topic, e.g. eco-design.")] = None,
    k: Annotated[int, typer.Option("-k", help="How many passages.")] = 5,
) -> None:
    """Search the knowledge base (hybrid dense + BM25) and print the best passages."""
    if not query.strip():
        fail("the query is empty")
    try:
        filters = Filters(
            country=country, kinds=[k.value for k in kind or []], instruments=instrument or [], topics=topic or []
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
        table.add_row(str(i), f"{p.score:.3f}", src, (p.section + "\n" if p.section else "") + snippet)
    console.print(table)


def build_advisor(kb):
    from bot.advisor.pipeline import Advisor

    return Advisor(get_settings(), kb)


def profile_from(country, lang, sector, size):
    from bot.store.schemas import Profile

    return Profile(
        country=country.upper() if country else None,
        language=lang,
        sector=sector,
        company_size=size,
    )


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in any language.")],
    country: Annotated[str | None, typer.Option(help="Your country (ISO code, e.g. DK).")] = None,
    lang: Annotated[Language | None, typer.Option(help="Answer language (default: detected).")] = None,
    sector: Annotated[str | None, typer.Option(help="Your sector, e.g. textiles.")] = None,
    size: Annotated[CompanySize | None, typer.Option(help="Your company's size.")] = None,
    passages: Annotated[bool, typer.Option(help="Also print the cited passages.")] = False,
) -> None:
    """Ask one question and print the answer, its sources and the triage decision."""
    from bot.advisor.models import AdvisorRequest
    from bot.terminal.render import print_reply

    kb = open_knowledge()
    ensure_index(kb)
    advisor = build_advisor(kb)
    request = AdvisorRequest(
        message=question, profile=profile_from(country, lang and lang.value, sector, size and size.value)
    )
    print_reply(asyncio.run(advisor.answer(request)), show_passages=passages)


@app.command()
def chat() -> None:
    """Talk to the advisor in your terminal: the same advisor the Telegram bot uses."""
    from bot.terminal.session import chat_loop

    kb = open_knowledge()
    ensure_index(kb)
    advisor = build_advisor(kb)
    asyncio.run(chat_loop(advisor))


@app.command()
def run() -> None:
    """Start the Telegram bot (long polling, or webhook mode when ADVISOR_TELEGRAM_WEBHOOK_URL is set)."""
    settings = get_settings()
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value().strip():
        fail("no Telegram token: set ADVISOR_TELEGRAM_TOKEN (from @BotFather) to start the bot.", code=2)
    from bot.telegram.webhook import WebhookMisconfigured, check_settings

    try:
        check_settings(settings)  # before loading anything: a forged POST must never be accepted
    except WebhookMisconfigured as exc:
        fail(str(exc), code=2)
    from bot.escalation.registry import AmbassadorRegistry, AmbassadorsInvalid

    try:  # once running, a broken edit keeps the last valid directory; at start there is none
        AmbassadorRegistry(settings.ambassadors_file).load()
    except AmbassadorsInvalid as exc:
        fail(escape(str(exc)), code=2)
    from bot.knowledge.providers import load_directory

    try:  # a cluster's own provider folder is not ingested: a broken file stops the start, not /providers
        load_directory(settings.knowledge_dir, settings.providers_dir)
    except ContentInvalid as exc:
        fail(escape(str(exc)), code=2)
    kb = open_knowledge()
    ensure_index(kb)
    from telegram.error import InvalidToken, NetworkError

    from bot.telegram.app import run as run_bot

    console.print("Starting the Telegram bot… (Ctrl-C to stop)")
    # PTB logs a failed start-up with its whole traceback and then raises it: the line below says it.
    logging.getLogger("telegram.ext").addFilter(_StartupFailureReported())
    try:
        run_bot(settings)
    except (InvalidToken, NetworkError) as exc:  # TimedOut is a NetworkError
        # PTB does not shut down what it never finished starting; asyncio would complain at exit
        # about the connection that the first call opened, which is dropped with the process.
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        if isinstance(exc, InvalidToken):
            fail("Telegram rejected ADVISOR_TELEGRAM_TOKEN: check it with @BotFather.")
        fail(escape(f"cannot reach Telegram at {settings.telegram_api_base_url}: {exc}"))


class _StartupFailureReported(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Network Retry Loop (Bootstrap")


def _register_eval() -> None:
    try:
        from bot.evals.cli import eval_command
    except ImportError:  # the evaluation harness is optional in a minimal install
        return
    app.command("eval")(eval_command)


_register_eval()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema (also done automatically on start)."""
    from bot.store import Store

    async def go():
        store = await Store.open(get_settings().database_url)
        await store.close()

    asyncio.run(go())
    console.print("Database schema is up to date.")


@app.command()
def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")] = False,
    days: Annotated[
        int | None, typer.Option(min=0, help="Retention in days (default: ADVISOR_RETENTION_DAYS; 0 keeps all).")
    ] = None,
) -> None:
    """Delete conversations, messages and feedback older than the retention period."""
    from bot.store import Store
    from bot.store.retention import purge as purge_store

    settings = get_settings()
    retention = settings.retention_days if days is None else days

    async def go():
        store = await Store.open(settings.database_url)
        try:
            return await purge_store(store, retention, dry_run=dry_run)
        finally:
            await store.close()

    report = asyncio.run(go())
    table = Table(title="Would delete" if dry_run else "Deleted", show_edge=False)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in report.deleted.items():
        table.add_row(name, str(rows))
    console.print(table)
    verb = "would be" if dry_run else "were"
    if report.cutoff is None:
        console.print(f"Retention is off (0 days): conversations are kept; only old update ids {verb} purged.")
    else:
        console.print(f"{report.total} row(s) older than {report.cutoff:%Y-%m-%d %H:%M} UTC {verb} deleted.")


# advisor calc: the resource-efficiency calculator (bot/tools), the same questions as /calc ----
UnitChoice = StrEnum("UnitChoice", {"t": "t", "kg": "kg"})


def _figure(help_text: str):
    return Annotated[str | None, typer.Option(help=help_text, show_default=False)]


@app.command()
def calc(
    bought: _figure("Material bought over the period, e.g. 120t or '12 000 kg'.") = None,
    shipped: _figure("Saleable product shipped over the period.") = None,
    landfill: _figure("Waste sent to landfill.") = None,
    incineration: _figure("Waste sent to incineration or energy recovery.") = None,
    recycling: _figure("Waste sent to recycling.") = None,
    reuse: _figure("Waste reused or sold as a by-product.") = None,
    material_price: _figure("Material price, EUR per tonne, e.g. 450 or '0,45 €/kg'.") = None,
    disposal_cost: _figure("Landfill and incineration fee, EUR per tonne.") = None,
    landfill_cost: _figure("Landfill fee, EUR per tonne (overrides --disposal-cost).") = None,
    incineration_cost: _figure("Incineration fee, EUR per tonne (overrides --disposal-cost).") = None,
    recycling_cost: _figure("Recycling collection fee, EUR per tonne.") = None,
    recycled_input: _figure("Material bought that was recycled, reused or certified renewable.") = None,
    turnover: _figure("Turnover over the period, EUR.") = None,
    circular_revenue: _figure("Turnover from repair, refurbishment, leasing, spare parts, by-products, EUR.") = None,
    unit: Annotated[UnitChoice, typer.Option(help="Unit of quantities typed without one.")] = UnitChoice.t,
    share: Annotated[list[float] | None, typer.Option(min=1, max=100, help="Percent moved up the R-ladder.")] = None,
    lang: Annotated[Language, typer.Option(help="Language of questions and results.")] = Language.en,
) -> None:
    """Resource-efficiency calculator: material yield, waste intensity, cost of waste, savings of
    moving waste up the R-ladder, circularity KPIs. Quantities like 12t, '12 000 kg', '1,5 t'.
    Without figures it asks every question; with some, it asks only the required ones missing."""
    given = dict(locals())  # the figures as options, by the calculator's step keys
    from rich.prompt import Prompt

    from bot.knowledge.catalog import Catalog
    from bot.tools import calculator as calc_tool
    from bot.tools.numbers import Kind, Problem, parse_figure
    from bot.tools.report import Wording, module_titles, problem_text, render

    settings = get_settings()
    wording, language = Wording(settings.prompts_dir), lang.value
    options = {k: v for k, v in given.items() if k in calc_tool.BY_KEY and v is not None}
    answers: calc_tool.Answers = {"unit": unit.value}
    for route, text in (("landfill_cost", landfill_cost), ("incineration_cost", incineration_cost)):
        if text is not None:
            try:
                answers[route] = parse_figure(text, Kind.price, lang=language)
            except Problem as exc:
                fail(escape(f"--{route.replace('_', '-')}: {problem_text(wording, exc, language)}"), 2)
    if not options:
        console.print(wording.text("intro", language), highlight=False)
    while (step := calc_tool.next_step(answers)) is not None:
        flag = "--" + step.key.replace("_", "-")
        own_fees = step.key == "disposal_cost" and all(
            f"{r}_cost" in answers for r in ("landfill", "incineration") if answers.get(r)
        )
        if step.key in options:
            try:
                answers[step.key] = calc_tool.accept(step.key, options[step.key], answers, language)
            except Problem as exc:
                fail(escape(f"{flag}: {problem_text(wording, exc, language)}"), 2)
        elif own_fees or (options and step.optional):
            answers[step.key] = None
        else:
            answers[step.key] = _ask_figure(Prompt, wording, step, answers, language, flag)
    shares = tuple(s / 100 for s in share) if share else calc_tool.DEFAULT_SHARES
    inp = calc_tool.to_input(answers, shares)
    titles = module_titles(Catalog(settings.knowledge_dir), language)
    for section in render(wording, inp, calc_tool.compute(inp), language, titles):
        console.print()
        if section.title:
            console.print(f"[bold]{escape(section.title)}[/]", highlight=False, soft_wrap=True)
        for line in section.lines:
            console.print(line, markup=False, highlight=False, soft_wrap=True)


def _ask_figure(prompt, wording, step, answers, language: str, flag: str) -> float | None:
    """One question until the answer is usable; Enter skips an optional one."""
    from bot.tools import calculator as calc_tool
    from bot.tools.numbers import Problem
    from bot.tools.report import problem_text, question

    while True:
        try:
            text = prompt.ask(
                escape(question(wording, step, language, answers)), console=console, default="", show_default=False
            )
        except EOFError:  # input ended (a pipe): say which figure is missing
            fail(f"no answer for {flag}", 2)
        if not text.strip() and step.optional:
            return None
        try:
            return calc_tool.accept(step.key, text, answers, language) if text.strip() else calc_tool.skip(step.key)
        except Problem as exc:
            err.print(problem_text(wording, exc, language), markup=False, highlight=False, soft_wrap=True)


# advisor canvas: the circular business-model canvas (bot/tools), the same blocks as /canvas ---
@app.command()
def canvas(
    out: Annotated[Path, typer.Option(help="Folder the .md and .html files are written to.")] = Path("."),
    country: Annotated[str | None, typer.Option(help="ISO country code, e.g. FR (for the funding).")] = None,
    sector: Annotated[str | None, typer.Option(help="Sector, e.g. textiles (examples and fit).")] = None,
    size: Annotated[CompanySize | None, typer.Option(help="Company size (for the funding).")] = None,
    lang: Annotated[Language, typer.Option(help="Language of the questions and the document.")] = Language.en,
) -> None:
    """Circular business-model canvas: one answer per block (Enter skips one), then a one-page
    document as Markdown and printable HTML, with the training modules and funding that fit."""
    from rich.prompt import Prompt

    from bot.i18n import t, table
    from bot.knowledge.catalog import Catalog
    from bot.knowledge.schema import COUNTRIES, SECTORS
    from bot.tools import canvas as canvas_tool

    if country and country.upper() not in COUNTRIES:
        fail(f"unknown country {country!r}; use one of: {', '.join(sorted(COUNTRIES))}", 2)
    if sector and sector not in SECTORS:
        fail(f"unknown sector {sector!r}; use one of: {', '.join(sorted(SECTORS))}", 2)
    settings = get_settings()
    wording, language = canvas_tool.Wording(settings.prompts_dir), lang.value
    console.print(wording.text("intro", language), markup=False, highlight=False, soft_wrap=True)
    answers: canvas_tool.Answers = {}
    while (block := canvas_tool.next_block(answers)) is not None:
        console.print()
        asked = escape(canvas_tool.question(wording, block, language, sector))
        while True:
            try:
                text = Prompt.ask(asked, console=console, default="", show_default=False)
            except EOFError:  # input ended (a pipe): say which block is missing
                fail(f"no answer for the block {block!r}", 2)
            try:
                answers[block] = canvas_tool.accept(text) if text.strip() else None
                break
            except canvas_tool.TooLong as exc:
                too_long = wording.text("too_long", language, length=exc.length, limit=canvas_tool.MAX_CHARS)
                err.print(too_long, markup=False, highlight=False, soft_wrap=True)
    catalog = Catalog(settings.knowledge_dir)
    size_value = size.value if size else None
    where = country.upper() if country else None
    record = canvas_tool.build(catalog, answers, language, country=where, sector=sector, size=size_value)
    sector_label = table("sectors", language).get(sector, sector) if sector else None
    size_label = t(f"sizes.{size_value}", language) if size_value else None
    text = canvas_tool.markdown(wording, record, catalog, sector_label=sector_label, size_label=size_label)
    page = canvas_tool.html(text, language, canvas_tool.title(wording, record, sector_label))
    out.mkdir(parents=True, exist_ok=True)
    for suffix, content in (("md", text), ("html", page)):
        path = out / canvas_tool.filename(record, suffix)
        path.write_text(content, encoding="utf-8")
        console.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def providers(
    query: Annotated[str, typer.Argument(help="What you need, e.g. 'wood offcuts Aarhus'.")] = "",
    country: Annotated[
        str | None, typer.Option(help="ISO country code, e.g. DK (else one named in the query).")
    ] = None,
    offer: Annotated[Offer | None, typer.Option(help="Only organisations offering this.")] = None,
    sector: Annotated[
        str | None, typer.Option(help="Only those working with this sector (or any), e.g. textiles.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=50, help="How many matches.")] = 5,
    lang: Annotated[Language, typer.Option(help="Language of the labels and reasons.")] = Language.en,
) -> None:
    """Organisations that can help (the /providers directory): best matches, why each fits, its page."""
    from bot.advisor.triage import Triager
    from bot.i18n import t
    from bot.knowledge.providers import load_directory, take_country
    from bot.knowledge.schema import COUNTRIES, SECTORS
    from bot.telegram.providers_view import card, heading

    if country and country.upper() not in COUNTRIES:
        fail(f"unknown country {country!r}; use one of: {', '.join(sorted(COUNTRIES))}", 2)
    if sector and sector not in SECTORS:
        fail(f"unknown sector {sector!r}; use one of: {', '.join(sorted(SECTORS))}", 2)
    settings = get_settings()
    try:
        directory = load_directory(settings.knowledge_dir, settings.providers_dir)
    except ContentInvalid as exc:
        for problem in exc.errors:
            err.print(f"  {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    named, words = take_country(query, Triager().countries)  # as in Telegram: a named country filters
    where = country.upper() if country else named
    chosen = offer.value if offer else None
    found = directory.match(words, country=where, offer=chosen, sector=sector, limit=limit)
    if not found:
        console.print("No organisation in the directory fits; try other words, another --offer or no --country.")
        raise typer.Exit(1)
    console.print(heading(lang.value, query, chosen, where), markup=False, highlight=False, soft_wrap=True)
    for n, match in enumerate(found, 1):
        shown = card(n, match, lang.value)
        console.print()
        console.print(f"[bold]{escape(shown.title)}[/]", highlight=False, soft_wrap=True)
        for line in shown.lines:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print()
    console.print(t("providers.source_note", lang.value), markup=False, highlight=False, soft_wrap=True)


# advisor events: what /events shows and /event_add posts (bot/escalation/events.py) ------------
def _events(action):
    """Run `action(board)` over the configured database."""
    from bot.escalation.events import EventBoard
    from bot.store import Store

    url = get_settings().database_url
    assert url is not None  # Settings fills it in

    async def go():
        store = await Store.open(url)
        try:
            return await action(EventBoard(store))
        finally:
            await store.close()

    return asyncio.run(go())


def _poster(by: str | None) -> str:
    """Who posts: an ambassador of the directory by id ("ambassador:<id>", as the escalation events
    name them), else the operator at the terminal."""
    if by is None:
        return "operator"
    from bot.escalation.registry import AmbassadorRegistry, AmbassadorsInvalid

    path = get_settings().ambassadors_file
    assert path is not None  # Settings fills it in
    try:
        directory = AmbassadorRegistry(path).load()
    except AmbassadorsInvalid as exc:
        fail(escape(str(exc)))
    if not any(a.id == by for a in directory.ambassadors):
        fail(f"no ambassador {by!r} in the directory ({escape(str(path))})", 2)
    return f"ambassador:{by}"


@events_app.command("add")
def events_add(
    title: Annotated[str, typer.Option(help="What it is, e.g. 'Open day at a repair workshop'.")],
    date: Annotated[str, typer.Option(help="When it starts: 2027-03-12, or 2027-03-12T10:00 (UTC unless it says).")],
    country: Annotated[str, typer.Option(help="ISO country code, e.g. DK, or EU for Europe-wide (webinars).")],
    topic: Annotated[list[str], typer.Option(help="A topic of the knowledge base, e.g. repair; repeat for more.")],
    kind: Annotated[str, typer.Option(help="site-visit, workshop, demonstration, webinar or other.")] = "other",
    end: Annotated[str | None, typer.Option(help="When it ends (a date or a time), if not the same day.")] = None,
    place: Annotated[str | None, typer.Option(help="City or venue, e.g. 'Aarhus, Reparo workshop'.")] = None,
    url: Annotated[str | None, typer.Option(help="Its public page, http(s)://…")] = None,
    description: Annotated[str, typer.Option(help="A sentence or two on what SMEs see and learn.")] = "",
    by: Annotated[
        str | None, typer.Option(help="The ambassador's id in the directory who posts it (default: operator).")
    ] = None,
) -> None:
    """Post an upcoming event: SMEs in its country (all, for EU) see it with /events until it is over."""
    from pydantic import ValidationError

    from bot.escalation.events import EventDraft, problem

    fields = {
        "title": title,
        "kind": kind.lower(),
        "starts_at": date,
        "ends_at": end,
        "country": country,
        "place": place,
        "topics": topic,
        "url": url,
        "description": description,
        "posted_by": _poster(by),
    }
    try:
        draft = EventDraft.model_validate(fields)
    except ValidationError as exc:
        fail(escape(problem(exc)), 2)

    async def post(board):
        return await board.post(draft)

    record = _events(post)
    day = record.starts_at.date().isoformat()
    console.print(f"Posted event #{record.id}: {record.title} ({record.kind}, {record.country}, {day}).", markup=False)


@events_app.command("list")
def events_list(
    country: Annotated[str | None, typer.Option(help="Only events in this country and Europe-wide ones.")] = None,
    topic: Annotated[str | None, typer.Option(help="Only events about this topic, e.g. repair.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Past events too.")] = False,
) -> None:
    """Upcoming events, by date (what /events draws from)."""
    from bot.knowledge.schema import COUNTRIES, TOPICS

    if country and country.upper() not in COUNTRIES:
        fail(f"unknown country {country!r}; use an ISO code such as DK, or EU", 2)
    if topic and topic not in TOPICS:
        fail(f"unknown topic {topic!r}; use one of: {', '.join(sorted(TOPICS))}", 2)

    async def listed(board):
        return await board.listed(country=country, topic=topic, include_past=show_all)

    found = _events(listed)
    if not found:
        console.print("No upcoming events." if not show_all else "No events.")
        return
    table = Table(show_edge=False)
    for column in ("id", "date", "kind", "country", "place", "title", "topics", "url", "posted by"):
        table.add_column(column)
    for e in found:
        when = e.starts_at.date().isoformat() if e.all_day else f"{e.starts_at:%Y-%m-%d %H:%M} UTC"
        table.add_row(
            str(e.id),
            when,
            e.kind,
            e.country,
            escape(e.place or ""),
            escape(e.title),
            ",".join(e.topics),
            escape(e.url or ""),
            escape(e.posted_by),
        )
    console.print(table)


@events_app.command("remove")
def events_remove(event_id: Annotated[int, typer.Argument(help="The event's id (advisor events list).")]) -> None:
    """Remove an event (cancelled, or posted by mistake)."""

    async def remove(board):
        return await board.remove(event_id)

    if not _events(remove):
        fail(f"no event #{event_id}")
    console.print(f"Removed event #{event_id}.")


if __name__ == "__main__":
    app()
