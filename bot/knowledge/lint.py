"""`python -m bot.knowledge.lint [PATH...]`: validate content without indexing it."""

import sys
from pathlib import Path

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
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
