"""Move new cases from evals/incoming/*.jsonl into the dev (35%) and test (65%) splits.

Run it before the advisor has ever answered the new cases (see evals/README.md): the split is
stratified by file and by kind of case (triage, reason, id prefix) with a fixed seed, so it does
not depend on how the advisor does on them. `incoming/x.jsonl` becomes `dev/fresh-x.jsonl` and
`test/fresh-x.jsonl`; an existing file of that name is extended, never overwritten.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

EVALS = Path(__file__).resolve().parents[1]
DEV_SHARE = 0.35
SEED = 20261125


def kind(case: dict) -> str:
    prefix = re.sub(r"-\d+$", "", case["id"])
    return f"{case['expected_triage']}/{case.get('escalation_reason')}/{prefix}"


def split(cases: list[dict], rng: random.Random) -> tuple[list[dict], list[dict]]:
    groups: dict[str, list[dict]] = {}
    for case in cases:
        groups.setdefault(kind(case), []).append(case)
    dev: list[dict] = []
    test: list[dict] = []
    for name in sorted(groups):
        items = groups[name]
        rng.shuffle(items)
        cut = round(len(items) * DEV_SHARE)
        dev += items[:cut]
        test += items[cut:]
    return dev, test


def main() -> None:
    rng = random.Random(SEED)
    for source in sorted((EVALS / "incoming").glob("*.jsonl")):
        cases = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
        name = "fresh-" + source.name.replace("-fresh", "").removeprefix("fresh-")
        for folder, items in zip(("dev", "test"), split(cases, rng), strict=True):
            target = EVALS / "datasets" / folder / name
            with target.open("a", encoding="utf-8") as out:
                for case in sorted(items, key=lambda c: c["id"]):
                    out.write(json.dumps(case, ensure_ascii=False) + "\n")
            print(f"{target}: +{len(items)}")
        source.unlink()


if __name__ == "__main__":
    main()
