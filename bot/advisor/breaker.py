"""A circuit breaker for the language-model endpoint, shared by every chat of the process.

Without it a failing endpoint costs every question its own timeouts and retries while that chat
waits. After `failures` failed calls in a row the endpoint is left alone for `cooldown_s`: calls
are refused at once (the composed fallback answers). Then one trial call goes out (half-open):
its success closes the circuit, its failure opens it for another cool-down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum, IntEnum

from bot.observability.logs import get_logger
from bot.observability.metrics import LLM_CIRCUIT_STATE

log = get_logger(__name__)


class State(IntEnum):
    """The values of the `advisor_llm_circuit_state` gauge."""

    closed = 0
    open = 1
    half_open = 2


class Admission(Enum):
    refused = "refused"
    call = "call"
    trial = "trial"  # the one call let through after the cool-down: no retries


class CircuitBreaker:
    def __init__(self, failures: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic):
        self.threshold = failures
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.state = State.closed
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False
        LLM_CIRCUIT_STATE.set(self.state)

    def admit(self) -> Admission:
        if self.state is State.open:
            if self.clock() - self._opened_at < self.cooldown_s:
                return Admission.refused
            self._enter(State.half_open)
        if self.state is State.half_open:
            if self._trial_running:  # everyone else waits for the trial's outcome
                return Admission.refused
            self._trial_running = True
            return Admission.trial
        return Admission.call

    def succeeded(self) -> None:
        self._trial_running = False
        self._failures = 0
        if self.state is not State.closed:
            log.info("model endpoint answers again, circuit closed")
            self._enter(State.closed)

    def failed(self) -> None:
        self._trial_running = False
        self._failures += 1
        if self.state is State.half_open or (self.state is State.closed and self._failures >= self.threshold):
            self._opened_at = self.clock()
            log.warning(
                "model endpoint failing, circuit open: composed answers until the cool-down ends",
                failures=self._failures,
                cooldown_s=self.cooldown_s,
            )
            self._enter(State.open)

    def _enter(self, state: State) -> None:
        self.state = state
        LLM_CIRCUIT_STATE.set(state)
