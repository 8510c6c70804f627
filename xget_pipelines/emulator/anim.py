"""The "animation key" behind X's ``x-client-transaction-id``, computed the way X's web client does.

X's web client signs each API request with bytes only a page load can give (public analyses:
antibot.blog's three articles of 2025-03 and the XClientTransaction project; twscrape 0.20's
``xclid.py`` implements the client side). The page carries a verification key (base64 in
``<meta name="twitter-site-verification">``) and four hidden "loading" SVGs; a script of the web
bundle names which key bytes pick an animation row and a point in time. The row is a CSS animation:
a colour fading from one RGB value to another and a rotation from 0 to some angle, eased by a
cubic-bezier curve. The state of that animation at that time, written as hex, is the animation key.

This module is the emulator's own derivation (it is the server: it knows the row it drew, so it never
parses its own page). Clients find the easing point by bisection to within 1e-5 (twscrape,
XClientTransaction); the emulator computes it exactly and only hands out key material whose
animation key does not change inside that error, so every correct client agrees with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

ROWS = 16  # rows per animation frame; a key byte mod 16 picks one
ROW_LEN = 11  # from-RGB (3), to-RGB (3), end angle (1), easing control points (4)
TOTAL_TIME_MS = 4096  # the animation's length
_CLIENT_TOLERANCE = 1e-5  # how close clients' bisection gets x(u) to t
_HEX = "0123456789abcdef"


def _bezier(a: float, b: float, u: float) -> float:
    """One coordinate of a CSS cubic-bezier with end points 0 and 1 and control values a, b."""
    return 3 * a * (1 - u) ** 2 * u + 3 * b * (1 - u) * u * u + u**3


def _bezier_slope(a: float, b: float, u: float) -> float:
    return 3 * a * (1 - u) ** 2 + 6 * (b - a) * (1 - u) * u + 3 * (1 - b) * u * u


def easing_controls(row: Sequence[int]) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) of the row's easing: x in [0, 1], y in [-1, 1], two decimals as CSS writes them."""
    x1, y1, x2, y2 = row[7:11]
    return (round(x1 / 255, 2), round(y1 * 2 / 255 - 1, 2), round(x2 / 255, 2), round(y2 * 2 / 255 - 1, 2))


def ease(row: Sequence[int], t: float) -> tuple[float, float]:
    """(progress, how far a client's value may stray) of the row's easing at time ``t`` in [0, 1)."""
    x1, y1, x2, y2 = easing_controls(row)
    if t <= 0:
        return 0.0, 0.0
    lo, hi = 0.0, 1.0
    for _ in range(80):  # x(u) is increasing for x1, x2 in [0, 1]: bisection to float precision
        mid = (lo + hi) / 2
        if _bezier(x1, x2, mid) < t:
            lo = mid
        else:
            hi = mid
    u = (lo + hi) / 2
    dx = _bezier_slope(x1, x2, u)
    dy = _bezier_slope(y1, y2, u)
    stray = math.inf if dx <= 0 else _CLIENT_TOLERANCE * abs(dy) / dx
    return _bezier(y1, y2, u), stray


def _hex_number(value: float) -> str:
    """A non-negative number in hex, fraction included, exactly as the double holds it ("0.8" for 0.5)."""
    whole = int(value)
    frac = Fraction(value) - whole
    head = format(whole, "x") if whole else ""
    if frac == 0:
        return head or "0"
    digits = []
    while frac:
        frac *= 16
        digit = int(frac)
        digits.append(_HEX[digit])
        frac -= digit
    return (head or "0") + "." + "".join(digits)


def key_at(row: Sequence[int], progress: float) -> str:
    """The animation key for the row's state at ``progress`` (0: start, 1: end of the easing)."""
    colour = [min(255.0, max(0.0, a + (b - a) * progress)) for a, b in zip(row[0:3], row[3:6], strict=False)]
    angle = math.floor(row[6] * 300 / 255 + 60) * progress
    rad = math.radians(angle)
    matrix = (math.cos(rad), -math.sin(rad), math.sin(rad), math.cos(rad))
    parts = [format(math.floor(c + 0.5), "x") for c in colour]
    parts += [_hex_number(abs(round(v, 2))) for v in matrix]
    parts += ["0", "0"]
    return "".join(parts).replace(".", "").replace("-", "")


def frame_time(key: Sequence[int], time_indices: Sequence[int]) -> int:
    """Milliseconds into the animation: the product of the named key bytes mod 16, to the nearest 10."""
    product = 1
    for i in time_indices:
        product *= key[i] % 16
    return math.floor(product / 10 + 0.5) * 10


def animation_key(
    key: Sequence[int], frames: Sequence[Sequence[Sequence[int]]], indices: Sequence[int]
) -> str | None:
    """The animation key of verification key bytes ``key`` on a page with ``frames`` (4 x 16 rows) and a
    signing script naming ``indices`` (row byte first, then the time bytes); ``None`` when clients that
    bisect the easing could land on another key (the emulator then draws other key bytes)."""
    row = frames[key[5] % len(frames)][key[indices[0]] % ROWS]
    t = frame_time(key, indices[1:]) / TOTAL_TIME_MS
    progress, stray = ease(row, t)
    if not math.isfinite(stray):
        return None
    margin = 4 * stray + 1e-9
    exact = key_at(row, progress)
    if key_at(row, progress - margin) != exact or key_at(row, progress + margin) != exact:
        return None
    return exact
