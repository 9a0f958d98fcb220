"""Intents learned from the dev split: a request for a person, a prompt injection, a question
off our subject, and a verdict on the firm's own case.

The regexes in triage.yaml catch the wordings someone wrote down; people ask for a person in
ways nobody listed ("can a human take this over?", "ich hätte gern jemanden am Telefon"). A
logistic regression over the question's embedding, fitted on the dev cases by
`python -m bot.evals.fit_intents`, recognises the request by meaning. Its regularisation and
threshold catch the most out of fold (one dataset file, or the triager's exemplars, held out at a
time) with no answerable or off-topic question taken for the intent. The same holds for a
question off our subject ("how many holiday days does a part-timer get?"): the exemplar margin and
the word lists in triage.yaml decline what they were written for, the learned model what is
worded otherwise, with no question of ours (answerable or not) taken for one out of fold. And for
a verdict on the firm's own case asked indirectly ("Hvad mener I – skal vi gøre det?"), with no
answerable or off-topic question taken for one.

The weights belong to one embedding model; with another (an OpenAI endpoint) they are not used.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel

MODEL = Path(__file__).with_name("data") / "intent_model.json"
INTENTS = ("injection", "human_request")  # refusing wins over handing over
OFF_TOPIC = "out_of_scope"  # not an intent to act on: a question that is not ours to answer
JUDGEMENT = "needs_judgement"  # a verdict on the firm's own case, asked indirectly: for a person


class LearnedIntent(BaseModel):
    weights: list[float]
    bias: float
    threshold: float
    fitted_on: dict[str, object] = {}

    def probability(self, unit_vector: np.ndarray) -> float:
        score = float(np.dot(np.asarray(self.weights, dtype=np.float32), unit_vector)) + self.bias
        return float(1.0 / (1.0 + np.exp(-score)))


class IntentModel(BaseModel):
    embedding_model: str
    intents: dict[str, LearnedIntent]

    def recognised(self, unit_vector: np.ndarray) -> tuple[str, float] | None:
        """The first intent (injection before a request for a person) whose probability passes
        its threshold, with that probability."""
        for name in INTENTS:
            p = self.passes(name, unit_vector)
            if p is not None:
                return name, p
        return None

    def passes(self, name: str, unit_vector: np.ndarray) -> float | None:
        """The probability of the intent `name`, where it passes its learned threshold; else None
        (also for an intent not fitted, or fitted on vectors of another length)."""
        learned = self.intents.get(name)
        if learned is None or len(learned.weights) != len(unit_vector):
            return None
        p = learned.probability(unit_vector)
        return p if p >= learned.threshold else None


@lru_cache(maxsize=4)
def load(path: Path = MODEL) -> IntentModel | None:
    if not path.exists():
        return None
    return IntentModel.model_validate_json(path.read_text(encoding="utf-8"))
