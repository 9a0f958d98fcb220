"""A small load through the real `advisor run` process (bench/load.py's machinery): every
question is answered exactly once. Speed is measured by the benchmark, never asserted here."""

from __future__ import annotations

import pytest

from bench.harness import running_bot
from bench.load import run_load

pytestmark = pytest.mark.slow


async def test_forty_users_at_once_each_get_exactly_one_answer(shipped_kb, tmp_path):
    database = f"sqlite+aiosqlite:///{tmp_path / 'load.db'}"
    data = shipped_kb.settings.data_dir
    async with running_bot(0.2, data, database, name="load", log_dir=tmp_path) as rig:
        result = await run_load(rig, users=40, rate=0, timeout_s=120)
    assert result.questions == 40
    counts = (result.lost, result.duplicated, result.failed_calls, result.other_messages, result.log_errors)
    why = "\n".join(result.unanswered + result.error_lines[:10])
    assert counts == (0, 0, 0, 0, 0), f"lost, duplicated, refused calls, other messages, log errors {counts}\n{why}"
    assert len(result.added) == 40
