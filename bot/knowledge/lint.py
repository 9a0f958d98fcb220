"""`python -m bot.knowledge.lint [PATH...]`: validate content without indexing it, then report
stale items, schemes open past their deadline, broken internal links and schemes with neither an amount
or rate nor the no_fixed_amount marker (exit 1 on any)."""

import datetime as dt
import os
import sys
from pathlib import Path

from bot.knowledge.audit import (
    DEFAULT_MAX_AGE_DAYS,
    broken_links,
    expired,
    mistranslated_figures,
    mistranslated_modules,
    stale,
    stale_providers,
    unmarked_amounts,
)
from bot.knowledge.catalog import Catalog
from bot.knowledge.loaders import ContentInvalid, load_corpus
from bot.knowledge.schema import word_count


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv] or [Path("knowledge")]
    try:
        docs = load_corpus(paths)
    except ContentInvalid as exc:
        for err in exc.errors:
            print(err, file=sys.stderr)
        return 1
    for doc in docs:
        extra = f" ({word_count(doc.text)} words)" if doc.kind == "module" else ""
        print(f"ok  {doc.kind:8} {doc.id}{extra}")
    print(f"{len(docs)} documents valid")
    max_age = int(os.environ.get("ADVISOR_CONTENT_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS))
    today = dt.date.today()
    problems = stale(docs, today, max_age)
    for root in paths:
        if (root / "funding").is_dir() or (root / "modules").is_dir():
            catalog = Catalog(root)
            problems += expired(catalog, today) + broken_links(catalog, docs) + unmarked_amounts(catalog)
            problems += mistranslated_figures(catalog) + mistranslated_modules(catalog)
        if (root / "providers").is_dir():  # not indexed, so load_corpus did not see duplicate ids
            try:
                problems += stale_providers(Catalog(root), today, max_age)
            except ContentInvalid as exc:
                for err in exc.errors:
                    print(err, file=sys.stderr)
                return 1
    for p in problems:
        print(f"{p.kind}: {p.item}: {p.detail}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
