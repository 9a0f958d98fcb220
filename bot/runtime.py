"""The garbage collector in the long-running hosts: the Telegram bot and the terminal chat.

The index, the models and the libraries are some 270,000 objects that live as long as the
process. Every full collection walked them all, about 150 ms with the event loop stopped, in the
middle of whichever answers were being written (bench/telegram.py: 20% of the bot's CPU under a
burst of questions). Frozen after start-up, they are never scanned again; collections walk only
what questions allocate. The pauses that remain are measured, so an operator sees any regression.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from bot.observability.logs import get_logger
from bot.observability.metrics import GC_PAUSE_SECONDS

log = get_logger(__name__)
_started: list[float] = []


def freeze_loaded_heap() -> int:
    """Collect once, then exempt every object that exists now from later collections.

    Call once, after start-up has loaded what lives as long as the process; returns the count.
    """
    gc.collect()
    gc.freeze()
    if _on_gc not in gc.callbacks:  # the pauses that remain go to `advisor_gc_pause_seconds`
        gc.callbacks.append(_on_gc)
    frozen = gc.get_freeze_count()
    log.info("heap frozen", objects=frozen)
    return frozen


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    # Collections do not nest and run with the GIL held: one start time at a time is enough.
    if phase == "start":
        _started[:] = [time.perf_counter()]
    elif _started:
        GC_PAUSE_SECONDS.labels(generation=str(info["generation"])).observe(time.perf_counter() - _started.pop())
