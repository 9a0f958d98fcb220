"""YAML parsing with libyaml's C loader where it is installed (about 10x faster than the
pure-Python SafeLoader on the shipped content), else the pure-Python one: both are safe loaders
and both give marks with line numbers, so errors still name file:line."""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str) -> Any:
    """`yaml.safe_load`, with the C loader when available."""
    return yaml.load(text, Loader=SafeLoader)
