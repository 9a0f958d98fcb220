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
    "hum": 0,  # talk to an ambassador
    "fd": 2,  # funding matcher: field, value
    "fq": 1,  # ask about scheme number n of the last results
    "ln": 2,  # learn: topic|module, id
    "as": 2,  # assessment: question index, option index
    "fg": 1,  # forget: yes|no
}
SAFE = re.compile(r"^[A-Za-z0-9_.+-]{1,40}$")


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
    return action, args
