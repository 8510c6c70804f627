"""Reading session cookies an X account authenticates with."""

from __future__ import annotations

REQUIRED = ("auth_token", "ct0")


def parse_cookie_header(text: str) -> dict[str, str]:
    """``name=value; name2=value2`` -> dict; raises ValueError naming what is missing."""
    jar: dict[str, str] = {}
    for i, part in enumerate(p.strip() for p in text.split(";")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"cookie {i + 1} is not name=value")  # and not shown: it may be a secret
        jar[name.strip()] = value.strip()
    missing = [c for c in REQUIRED if not jar.get(c)]
    if missing:
        raise ValueError(f"cookies lack {', '.join(missing)}: copy them from a logged-in x.com session")
    return jar
