"""Shared fixtures: isolated settings, a small knowledge base, SQLite and PostgreSQL stores."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = os.environ.get("ADVISOR_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def make_settings(tmp_path: Path, **overrides):
    from bot.config import Settings

    values = {
        "data_dir": tmp_path / "data",
        "knowledge_dir": tmp_path / "kb",
        "llm_base_url": None,
        "llm_api_key": None,
        "telegram_token": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def updated(settings, **overrides):
    """A validated copy of settings (model_copy would skip validation)."""
    from bot.config import Settings

    return Settings(_env_file=None, **{**settings.model_dump(), **overrides})


@pytest.fixture
def small_kb(tmp_path: Path) -> Path:
    """A copy of the small fixture corpus that a test may edit."""
    dest = tmp_path / "kb"
    shutil.copytree(FIXTURES / "kb", dest)
    return dest


@pytest.fixture
def settings(tmp_path: Path, small_kb: Path):
    return make_settings(tmp_path, knowledge_dir=small_kb)


@pytest.fixture
def kb(settings):
    from bot.knowledge.base import KnowledgeBase

    base = KnowledgeBase.open(settings)
    base.sync()
    return base


@pytest.fixture(scope="session")
def shipped_kb(tmp_path_factory):
    """The shipped knowledge base, indexed once per session (kept in ADVISOR_TEST_INDEX if set)."""
    from bot.knowledge.base import KnowledgeBase

    cached = os.environ.get("ADVISOR_TEST_INDEX")
    data = Path(cached) if cached else tmp_path_factory.mktemp("shipped")
    settings = make_settings(data, knowledge_dir=REPO / "knowledge", data_dir=data)
    base = KnowledgeBase.open(settings)
    base.sync()
    return base


async def _pg_admin(sql: str | None = None) -> None:
    import asyncpg

    conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_DSN), 5)
    try:
        if sql:
            await conn.execute(sql)
    finally:
        await conn.close()


def _blocking(coro_fn, *args):
    """Run a coroutine to completion from sync code, even inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_fn(*args)).result()


@pytest.fixture(scope="session")
def pg_url():
    """A throw-away PostgreSQL database for this session (sync: it runs outside any event loop)."""
    try:
        _blocking(_pg_admin)
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_DSN}: {exc}")
    name = f"advisor_test_{uuid.uuid4().hex[:8]}"
    _blocking(_pg_admin, f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    _blocking(_pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_pg_url(pg_url):
    """A PostgreSQL database of the test's own, for bot processes that leave their state behind
    (a resolved thread's rating window would otherwise take the next test's first question)."""
    name = f"advisor_test_{uuid.uuid4().hex[:8]}"
    _blocking(_pg_admin, f'CREATE DATABASE "{name}"')
    yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    _blocking(_pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request, tmp_path):
    from bot.store import Store

    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'advisor.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    s = await Store.open(url)
    yield s
    if request.param == "postgres":
        from bot.store.models import Base

        async with s.engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                await conn.execute(table.delete())
    await s.close()
