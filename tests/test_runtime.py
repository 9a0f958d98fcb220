"""The long-running hosts freeze what start-up loaded and time every garbage collection."""

from __future__ import annotations

import gc

from prometheus_client import REGISTRY

from bot.runtime import freeze_loaded_heap


def full_collections() -> float:
    return REGISTRY.get_sample_value("advisor_gc_pause_seconds_count", {"generation": "2"}) or 0.0


def test_objects_loaded_before_the_freeze_are_left_out_of_later_collections():
    loaded = [{"chunk": i} for i in range(50_000)]  # stands in for the index and the models
    try:
        frozen = freeze_loaded_heap()
        assert frozen >= len(loaded)
        scanned = {id(o) for o in gc.get_objects()}  # what a full collection walks
        assert id(loaded) not in scanned and id(loaded[0]) not in scanned

        answer = [{"token": i} for i in range(10)]  # allocated afterwards: still collected
        assert id(answer) in {id(o) for o in gc.get_objects()}
        before = full_collections()
        gc.collect()
        assert full_collections() == before + 1
    finally:
        gc.unfreeze()
