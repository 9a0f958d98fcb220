"""Callback data: short, versioned, validated before use (Telegram allows 64 bytes).

Format: "v1|<action>|<arg>|<arg>...". Anything else (an old button, a forged payload) parses
to None and the user is told the button expired.
"""

from __future__ import annotations

import re

VERSION = "v1"
ACTIONS = {
    "ob": 2,  # onboarding/profile: field, value
    "pf": 1,  # profile: field to change
    "fb": 2,  # feedback: up|down, message id
    "src": 1,  # show sources of message id
    "ans": 1,  # show again the answer (message id) a restart may have kept from the user
    "hum": 0,  # talk to an ambassador
    "fd": 2,  # funding matcher: field, value
    "fq": 1,  # ask about scheme number n of the last results
    "ln": 2,  # learn: topic|module, id
    "as": 2,  # assessment: question index, option index
    "fg": 1,  # forget: yes|no
    "es": 2,  # escalation, for ambassadors: claim|resolve|return|faq, escalation id
    "rt": 2,  # the SME rates a closed thread: escalation id, 1-5
    "rc": 1,  # the SME chooses to comment on a rated thread: escalation id
    "cx": 0,  # the SME takes the question back from the ambassadors
    "cc": 2,  # calculator: unit|skip|stop, t|kg / step key / 0
    "cv": 2,  # canvas: skip|stop, block key / 0
    "pv": 1,  # providers: the offer asked for
    "ip": 2,  # an ambassador introduces a provider: escalation id, provider id or "-" for the list
}
SAFE = re.compile(r"^[A-Za-z0-9_.+-]{1,40}$")
MAX_NUMBER_DIGITS = 18  # ids and indexes fit a 64-bit integer (SQLite and PostgreSQL refuse larger ones)


def make(action: str, *args: object) -> str:
    if action not in ACTIONS or len(args) != ACTIONS[action]:
        raise ValueError(f"bad callback {action}{args}")
    data = "|".join([VERSION, action, *map(str, args)])
    if len(data.encode()) > 64 or not all(SAFE.match(str(a)) for a in args):
        raise ValueError(f"callback data not allowed: {data!r}")
    return data


def parse(data: str | None) -> tuple[str, list[str]] | None:
    if not data or len(data) > 64:
        return None
    parts = data.split("|")
    if len(parts) < 2 or parts[0] != VERSION or parts[1] not in ACTIONS:
        return None
    action, args = parts[1], parts[2:]
    if len(args) != ACTIONS[action] or not all(SAFE.match(a) for a in args):
        return None
    if any(a.isdigit() and len(a) > MAX_NUMBER_DIGITS for a in args):  # a forged id: no such message
        return None
    return action, args
