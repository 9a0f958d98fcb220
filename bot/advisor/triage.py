"""Triage: answer, hand over to a human, decline as out of scope, or refuse.

Cheap, explainable checks run first (regexes in many languages for a human request, prompt
injection and questions that need individual judgement); then a nearest-neighbour check in
embedding space tells off-topic questions from in-domain ones; after retrieval, a calibrated
similarity threshold catches questions the knowledge base does not cover.
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel

from bot.advisor.models import Escalation, EscalationReason, Triage
from bot.knowledge.retrieve import Passage

DATA = Path(__file__).with_name("data") / "triage.yaml"

# Calibrated on evals/datasets (see evals/README.md): multilingual-e5 cosine similarities.
LOW_CONFIDENCE_SIMILARITY = 0.80  # best passage below this: the knowledge base does not cover it
CONFIDENT_SIMILARITY = 0.88  # at or above this: full confidence
OUT_OF_SCOPE_MARGIN = 0.0  # off-topic when closer to off-topic exemplars than to in-scope ones
FIGURE_WINDOW = 80  # characters around a term in which a stated number counts
NEGATIVE_FEEDBACK_LIMIT = 2
LEETSPEAK = str.maketrans("013457@$", "oieastas")
YEAR = re.compile(r"\b(?:19[5-9]\d|20[0-9]\d)\b")


class Decision(BaseModel):
    triage: Triage
    escalation: Escalation | None = None
    rule: str = ""


def _compile(patterns: list[str]) -> list[re.Pattern]:
    return [re.compile(p, re.IGNORECASE | re.UNICODE) for p in patterns]


class Triager:
    def __init__(self, embeddings=None, cache_dir: Path | None = None, data: Path = DATA):
        raw = yaml.safe_load(data.read_text(encoding="utf-8"))
        self.human = _compile(raw["human_request"])
        self.injection = _compile(raw["injection"])
        self.judgement = _compile(raw["judgement"])
        self.funding = re.compile(raw["funding_intent"], re.IGNORECASE | re.UNICODE)
        self.national = re.compile(raw["national_specifics"], re.IGNORECASE | re.UNICODE)
        self.eu_level = re.compile(raw["eu_level"], re.UNICODE)  # case matters: "EU", "LIFE"
        self.figure_question = re.compile(raw["figure_question"], re.IGNORECASE | re.UNICODE)
        self.figure_terms = [
            (term, re.compile(r"\b" + re.escape(term) + r"\b", re.IGNORECASE)) for term in raw["figure_terms"]
        ]
        self.countries = [
            (code, re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b", re.IGNORECASE))
            for code, names in raw["countries"].items()
        ]
        self._in_scope = raw["in_scope"]
        self._out_of_scope = raw["out_of_scope"]
        self.embeddings = embeddings
        self.cache_dir = cache_dir

    # --- before retrieval ---------------------------------------------------------------------
    def pre_retrieval(self, message: str, negative_feedback: int = 0) -> Decision | None:
        text = message.strip()
        decoded = text.translate(LEETSPEAK)  # "1gn0re y0ur pr0mpt" asks the same
        if any(p.search(text) or p.search(decoded) for p in self.injection):
            return Decision(triage=Triage.refuse, rule="injection")
        if any(p.search(text) for p in self.human):
            return _escalate(EscalationReason.human_requested, "the user asked for a person")
        if negative_feedback >= NEGATIVE_FEEDBACK_LIMIT:
            return _escalate(
                EscalationReason.negative_feedback,
                f"{negative_feedback} negative ratings in this conversation",
            )
        if any(p.search(text) for p in self.judgement):
            return _escalate(
                EscalationReason.needs_judgement,
                "the question needs individual judgement (eligibility, legal or confidential matters)",
            )
        return None

    @cached_property
    def _exemplars(self) -> tuple[np.ndarray, np.ndarray]:
        texts = self._in_scope + self._out_of_scope
        digest = hashlib.sha256(("\n".join(texts) + self.embeddings.model_name).encode()).hexdigest()[:12]
        cache = self.cache_dir / f"triage-exemplars-{digest}.npy" if self.cache_dir else None
        if cache and cache.exists():
            vectors = np.load(cache)
        else:
            vectors = np.asarray(self.embeddings.embed_queries(texts), dtype=np.float32)
            if cache:
                cache.parent.mkdir(parents=True, exist_ok=True)
                np.save(cache, vectors)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        n = len(self._in_scope)
        return vectors[:n], vectors[n:]

    def off_topic_margin(self, query_vector: list[float]) -> float:
        """How much closer the message is to off-topic exemplars than to in-scope ones."""
        inside, outside = self._exemplars
        q = np.asarray(query_vector, dtype=np.float32)
        q /= np.linalg.norm(q) or 1.0
        return float((outside @ q).max() - (inside @ q).max())

    def is_off_topic(self, query_vector: list[float]) -> bool:
        return self.off_topic_margin(query_vector) > OUT_OF_SCOPE_MARGIN

    # --- signals for retrieval ----------------------------------------------------------------
    def is_funding_question(self, text: str) -> bool:
        return bool(self.funding.search(text))

    def mentioned_country(self, text: str) -> str | None:
        for code, pattern in self.countries:
            if pattern.search(text):
                return code
        return None

    # --- after retrieval -------------------------------------------------------------------------
    @staticmethod
    def confidence(best_similarity: float | None) -> float:
        if best_similarity is None:
            return 0.0
        span = CONFIDENT_SIMILARITY - LOW_CONFIDENCE_SIMILARITY
        return float(np.clip(0.5 + 0.5 * (best_similarity - LOW_CONFIDENCE_SIMILARITY) / span, 0, 1))

    def post_retrieval(
        self,
        question: str,
        passages: list[Passage],
        best: float | None,
        covered_countries: set[str],
    ) -> Decision | None:
        """Does the knowledge base cover this question? Explainable checks, strongest first.

        `best` is the highest dense similarity among the passages (None when nothing matched).
        """
        if best is None or best < LOW_CONFIDENCE_SIMILARITY:
            return _escalate(
                EscalationReason.low_confidence,
                f"no passage matches well (best similarity {best or 0:.2f} < {LOW_CONFIDENCE_SIMILARITY})",
            )
        country = self.mentioned_country(question)
        national = self.is_funding_question(question) or self.national.search(question)
        eu_level = self.eu_level.search(question)
        if country and country not in covered_countries and national and not eu_level:
            return _escalate(
                EscalationReason.low_confidence,
                f"the knowledge base has no national content for {country}",
            )
        found = " ".join(p.text for p in passages)
        missing = [y for y in YEAR.findall(question) if y not in found]
        if missing:
            return _escalate(
                EscalationReason.low_confidence,
                f"the retrieved passages say nothing about {', '.join(missing)}",
            )
        unstated = self.unstated_figure(question, found)
        if unstated:
            return _escalate(
                EscalationReason.low_confidence,
                f"the question asks for a figure ({unstated}) that no retrieved passage states",
            )
        return None

    def unstated_figure(self, question: str, passages_text: str) -> str | None:
        """The figure the question asks for, if no passage gives a number next to it."""
        if not self.figure_question.search(question):
            return None
        found = next(((name, rx) for name, rx in self.figure_terms if rx.search(question)), None)
        if found is None:
            return None
        name, pattern = found
        for match in pattern.finditer(passages_text):
            window = passages_text[max(match.start() - FIGURE_WINDOW, 0) : match.end() + FIGURE_WINDOW]
            if re.search(r"\d", window):
                return None
        return name


def _escalate(reason: EscalationReason, detail: str) -> Decision:
    return Decision(triage=Triage.escalate, escalation=Escalation(reason=reason, detail=detail), rule=reason)
