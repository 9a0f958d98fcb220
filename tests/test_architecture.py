"""The layers hold: every import in `bot/` follows the README's table of allowed imports (the
advisor knows nothing of Telegram, the store nothing of escalation, and so on)."""

from __future__ import annotations

import ast
import re

from tests.conftest import REPO

ROW = re.compile(r"^\| `bot\.(\w+)` \| [^|]+ \| ([^|]+) \|$")


def allowed_imports() -> dict[str, set[str] | None]:
    """package -> the packages it may import (None: any)."""
    rules: dict[str, set[str] | None] = {}
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line.strip())
        if match:
            package, allowed = match.groups()
            allowed = allowed.strip()
            rules[package] = None if allowed == "every package" else set(re.findall(r"`(\w+)`", allowed))
    return rules


def imports_of(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        names = (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else []
        )
        for name in names:
            parts = name.split(".")
            if parts[0] == "bot" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_the_readme_names_every_package():
    packages = {p.stem if p.suffix == ".py" else p.name for p in (REPO / "bot").iterdir()} - {"__init__", "__pycache__"}
    missing = packages - set(allowed_imports())
    assert not missing, f"add a row to the README's architecture table for {missing}"


def test_every_import_follows_the_layers():
    rules = allowed_imports()
    broken = []
    for path in sorted((REPO / "bot").rglob("*.py")):
        relative = path.relative_to(REPO / "bot")
        package = relative.parts[0].removesuffix(".py")
        if package == "__init__":
            continue
        allowed = rules.get(package)
        if allowed is None:
            continue
        for imported in sorted(imports_of(path) - allowed - {package}):
            broken.append(f"bot/{relative} imports bot.{imported}")
    assert not broken, "imports the README's architecture table does not allow:\n" + "\n".join(broken)


CHANNELS = {"telegram", "terminal"}


def test_the_channels_are_adapters_that_no_service_imports():
    """Telegram and the terminal chat are two adapters over the same services: neither imports
    the other, and only the command line (which starts them) imports either."""
    rules = allowed_imports()
    assert set(rules) >= CHANNELS, "each channel has a row in the README's architecture table"
    leaking = {name: sorted(allowed & CHANNELS) for name, allowed in rules.items() if allowed and allowed & CHANNELS}
    assert not leaking, f"the README's table lets these packages import a channel: {leaking}"
