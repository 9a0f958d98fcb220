"""`advisor escalations stats` for Prometheus: the same figures, read from the store (so every
replica reports the shared truth), refreshed by the bot's escalation sweep."""

from __future__ import annotations

from prometheus_client import Gauge

from bot.domain import Stats

THREADS = Gauge("advisor_escalation_threads", "Escalated threads in the store, by status.", ["status"])
MEDIAN_CLAIM = Gauge("advisor_escalation_median_claim_seconds", "Median time from hand-over to an ambassador's claim.")
MEDIAN_RESOLVE = Gauge("advisor_escalation_median_resolve_seconds", "Median time from hand-over to resolution.")
RATINGS = Gauge("advisor_escalation_ratings", "SMEs' ratings of resolved threads, by stars.", ["stars"])
REASONS = Gauge("advisor_escalation_reasons", "Escalated threads by the reason they were handed over.", ["reason"])


def publish(stats: Stats) -> None:
    for status, count in stats.counts.items():
        THREADS.labels(status=status).set(count)
    MEDIAN_CLAIM.set(stats.median_claim_s or 0)
    MEDIAN_RESOLVE.set(stats.median_resolve_s or 0)
    for stars in range(1, 6):
        RATINGS.labels(stars=str(stars)).set(stats.ratings.get(stars, 0))
    for reason, count in stats.reasons.items():
        REASONS.labels(reason=reason).set(count)
