"""What an operator reads when the environment is wrong: one line that says what to fix, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from typer.testing import CliRunner

from bot.knowledge.base import KnowledgeBase
from tests.conftest import FIXTURES, make_settings


def advisor(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`advisor ARGS` as typed in a shell, with a data dir of its own and nothing from a .env."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**clean, "ADVISOR_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200", **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_every_bad_setting_is_one_line_naming_its_variable(tmp_path):
    bad = {
        "ADVISOR_LOG_FORMAT": "bogus",
        "ADVISOR_RETENTION_DAYS": "abc",
        "ADVISOR_CHROMA_MODE": "xyz",
        "ADVISOR_METRICS_PORT": "70000",
        "ADVISOR_TELEGRAM_WEBHOOK_PORT": "0",
    }
    done = advisor(tmp_path, "db", "upgrade", **bad)
    assert done.returncode == 2
    errors = lines(done.stderr)
    assert len(errors) == len(bad) and "Traceback" not in done.stderr + done.stdout, done.stderr
    for variable, line in zip(sorted(bad), sorted(errors), strict=True):
        assert line.startswith(f"Configuration error: {variable}: "), errors
    assert "Configuration error: ADVISOR_RETENTION_DAYS: Input should be a valid integer" in done.stderr
    assert "ADVISOR_METRICS_PORT: Input should be less than or equal to 65535" in done.stderr


def test_unreachable_database_is_one_line_without_its_password(tmp_path):
    done = advisor(
        tmp_path, "db", "upgrade", ADVISOR_DATABASE_URL="postgresql+asyncpg://bot:s3cret@127.0.0.1:1/advisor"
    )
    assert done.returncode == 1
    assert lines(done.stderr) == [
        "error: cannot connect to the database at postgresql+asyncpg://bot:***@127.0.0.1:1/advisor: "
        "[Errno 111] Connect call failed ('127.0.0.1', 1)"
    ]


def test_unknown_choices_are_usage_errors_that_list_them():
    from bot.cli import app

    def refused(*args: str) -> str:
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 2, result.output
        return " ".join(result.output.replace("│", " ").split())  # as read, whatever rich's box width

    assert "'nonsense' is not one of 'module', 'funding'" in refused("search", "packaging", "--kind", "nonsense")
    assert "'xx' is not one of 'en', 'fr'" in refused("ask", "Which grants?", "--lang", "xx")
    assert "'huge' is not one of 'micro', 'small', 'medium', 'large'" in refused("ask", "Hi?", "--size", "huge")


def test_run_with_telegram_unreachable_is_one_line(tmp_path):
    shutil.copytree(FIXTURES / "kb", tmp_path / "kb")
    KnowledgeBase.open(make_settings(tmp_path, knowledge_dir=tmp_path / "kb", data_dir=tmp_path / "data")).sync()
    done = advisor(
        tmp_path,
        "run",
        ADVISOR_KNOWLEDGE_DIR=str(tmp_path / "kb"),
        ADVISOR_TELEGRAM_TOKEN="123456:" + "A" * 35,
        ADVISOR_TELEGRAM_API_BASE_URL="http://127.0.0.1:1",  # nothing listens there
        ADVISOR_METRICS_PORT="0",
    )
    assert done.returncode == 1
    assert lines(done.stderr) == ["error: cannot reach Telegram at http://127.0.0.1:1: Timed out"], done.stderr


def test_purge_dry_run_says_what_would_go_and_shows_no_migration_log(tmp_path):
    done = advisor(tmp_path, "purge", "--dry-run", "--days", "0")  # a fresh database: migrated first
    assert done.returncode == 0, done.stderr
    assert "alembic" not in done.stderr and "Running upgrade" not in done.stderr, done.stderr
    assert "only old update ids would be purged" in done.stdout and "were" not in done.stdout
    done = advisor(tmp_path, "purge", "--dry-run")
    assert "would be deleted" in done.stdout and "were" not in done.stdout
