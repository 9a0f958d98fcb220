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


def dataset_hash(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
