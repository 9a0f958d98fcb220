"""Assign new cases in evals/incoming/*.jsonl to dev (35%) or test (65%), stratified by file and kind,
with a fixed seed, before the advisor is ever run on them (see evals/README.md)."""

import json
import random
import re
from pathlib import Path

root = Path("/work/main/evals")
rng = random.Random(20261125)
for src in sorted((root / "incoming").glob("*.jsonl")):
    cases = [json.loads(l) for l in src.read_text().splitlines() if l.strip()]
    groups = {}
    for c in cases:
        kind = (c["expected_triage"], c.get("escalation_reason"), re.sub(r"-\d+$", "", c["id"]))
        groups.setdefault(kind, []).append(c)
    dev, test = [], []
    for kind, items in sorted(groups.items(), key=lambda kv: str(kv[0])):
        rng.shuffle(items)
        n_dev = round(len(items) * 0.35)
        dev += items[:n_dev]
        test += items[n_dev:]
    name = src.name.replace("-fresh", "")
    for split, items in (("dev", dev), ("test", test)):
        items.sort(key=lambda c: c["id"])
        out = root / "datasets" / split / f"fresh-{name}"
        out.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in items))
        print(out, len(items))
