# The triager registers its shipped exemplar vectors with `advisor content vectors`.
from bot.advisor import triage as _triage  # noqa: F401
