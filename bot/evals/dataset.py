"""Loading the golden cases: `evals/datasets/{dev,test}/*.jsonl`, validated against `EvalCase`.

A case's split is the folder it lives in: `dev` is free to tune on, `test` is frozen and only
measured (see evals/README.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.config import REPO_ROOT
from bot.evals.schema import EvalCase, Tag


class DatasetInvalid(Exception):
    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} invalid case(s):\n" + "\n".join(problems))
        self.problems = problems


def evals_dir() -> Path:
    """`evals/` under the working directory if there is one, else in the source tree."""
    here = Path("evals")
    return here if here.is_dir() else REPO_ROOT / "evals"


SPLITS = ("dev", "test")


def default_datasets(splits: Sequence[str] = SPLITS) -> list[Path]:
    root = evals_dir() / "datasets"
    return [p for split in splits for p in sorted((root / split).glob("*.jsonl"))]


def split_of(path: Path) -> str | None:
    """`dev` or `test` for a file in such a folder, else None (an ad-hoc case file)."""
    return path.parent.name if path.parent.name in SPLITS else None


def load_cases(paths: Sequence[Path]) -> list[EvalCase]:
    """Every case of every file; all problems (bad JSON, schema, duplicate ids) reported at once."""
    cases: list[EvalCase] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                case = EvalCase.model_validate(json.loads(line))
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: invalid JSON: {exc.msg}")
                continue
            except ValidationError as exc:
                for e in exc.errors():
                    loc = ".".join(str(p) for p in e["loc"]) or "case"
                    problems.append(f"{where}: {loc}: {e['msg']}")
                continue
            if case.id in seen:
                problems.append(f"{where}: duplicate id {case.id!r} (first in {seen[case.id]})")
                continue
            seen[case.id] = where
            case.split = split_of(path)
            cases.append(case)
    if problems:
        raise DatasetInvalid(problems)
    return cases


def select(cases: Iterable[EvalCase], tags: Sequence[str] = ()) -> list[EvalCase]:
    """Cases carrying any of `tags` (all cases when no tag is given)."""
    wanted = {Tag(t) for t in tags}
    return [c for c in cases if not wanted or wanted & set(c.tags)]


def sample(cases: Sequence[EvalCase], limit: int) -> list[EvalCase]:
    """At most `limit` cases spread over the tags, so a short run still sees every kind of case
    (files are grouped by kind: the first N would all be escalations). Round-robin over the
    tags in the order they first appear: each turn takes the next untaken case carrying that
    tag, unless a case taken this round already carries it (a "retrieval" tag riding on a
    funding case does not earn a second funding case). Deterministic; file order is kept."""
    if limit >= len(cases):
        return list(cases)
    queues: dict[Tag, list[int]] = {}
    for i, case in enumerate(cases):
        for tag in case.tags:
            queues.setdefault(tag, []).append(i)
    taken: set[int] = set()
    while len(taken) < limit:  # ends: every case has a tag, so each round takes one at least
        covered: set[Tag] = set()
        for tag, queue in queues.items():
            while queue and queue[0] in taken:
                queue.pop(0)
            if queue and tag not in covered and len(taken) < limit:
                i = queue.pop(0)
                taken.add(i)
                covered.update(cases[i].tags)
    return [cases[i] for i in sorted(taken)]


def dataset_hash(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
