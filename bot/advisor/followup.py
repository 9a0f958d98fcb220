"""A follow-up is about what the user was just shown: "How do I apply?" after a scheme.

Offline, a dependent follow-up is read together with the previous question (pipeline
`_condense`), which finds the right topic but not the right detail: "how do I apply?" glued to
"any funding for a repair workshop?" retrieves repair guidance, not the scheme's application
steps. So the item the last answer was about (its subject) is found from the answer's own text,
and the sentences of that item that answer the new message lead the reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def _shown(history_texts: Sequence[tuple[str, str]]) -> str | None:
    """The last assistant turn without its source list."""
    return next((text.split("\n📚")[0] for role, text in reversed(history_texts) if role == "assistant"), None)


def last_answer(history_texts: Sequence[tuple[str, str]]) -> str | None:
    """The text of the last assistant turn, without its source list and citation marks."""
    shown = _shown(history_texts)
    return re.sub(r"\[\d+\]", "", shown).strip() or None if shown is not None else None


def first_cited(history_texts: Sequence[tuple[str, str]]) -> str | None:
    """The last answer up to its first citation: the item it is first about ("3 schemes fit:
    - KfW-Umweltprogramm (…) [1]"), which "das" in "wer kann das beantragen?" points at, not
    whichever of its items the whole text matches best. None when it cites nothing."""
    shown = _shown(history_texts) or ""
    at = shown.find("[1]")
    return shown[:at].strip() or None if at >= 0 else None
