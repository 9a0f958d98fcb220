"""`--json PATH` of the benchmark scripts: their headline figures, read by bench/report.py."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def clean(value: Any) -> Any:
    """NaN (nothing measured) as null, tuples as lists: strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def write_json(path: Path, data: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(data), indent=2, allow_nan=False) + "\n")
