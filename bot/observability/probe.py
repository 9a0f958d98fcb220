"""`python -m bot.observability.probe [healthz|readyz]`: the container health check.

Standard library only (the slim image has no curl) and no app imports, so it starts in
milliseconds; exit status 0 when the endpoint answers 200.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "healthz"
    port = os.environ.get("ADVISOR_METRICS_PORT", "9108")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except Exception as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
