"""Who should see a new thread first: language, country and expertise, then the lightest load."""

from __future__ import annotations

from pydantic import BaseModel

from bot.knowledge.schema import Ambassador

FIRST_CIRCLE = 2  # ambassadors asked first; after the SLA everyone with room is asked


class Candidate(BaseModel):
    ambassador: Ambassador
    score: int
    load: int


def score(ambassador: Ambassador, language: str, country: str | None, topics: list[str]) -> int:
    """0 means the ambassador cannot talk with the SME (no common language)."""
    if language in ambassador.languages:
        points = 4
    elif "en" in ambassador.languages:
        points = 1  # most SMEs can fall back on English
    else:
        return 0
    if country and country in ambassador.countries:
        points += 3
    elif "EU" in ambassador.countries:
        points += 1
    points += 2 * min(2, len(set(topics) & set(ambassador.expertise)))
    return points


def rank(
    ambassadors: list[Ambassador], loads: dict[str, int], language: str, country: str | None, topics: list[str]
) -> list[Candidate]:
    """Active ambassadors with room, best match first, the least busy first among equals."""
    found = [
        Candidate(ambassador=a, score=score(a, language, country, topics), load=loads.get(a.id, 0))
        for a in ambassadors
        if a.active and loads.get(a.id, 0) < a.capacity
    ]
    return sorted(found, key=lambda c: (-c.score, c.load / c.ambassador.capacity, c.ambassador.id))


def circle(candidates: list[Candidate], level: int) -> list[Ambassador]:
    """Level 0: the best matches who share a language with the SME; level 1: everyone with room."""
    if level == 0:
        return [c.ambassador for c in candidates if c.score > 0][:FIRST_CIRCLE]
    return [c.ambassador for c in candidates]
