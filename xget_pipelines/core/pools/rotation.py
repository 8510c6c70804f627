"""Which free account the lease hands out next (``XGET_POOL_STRATEGY``), listed once for the settings and
the lease.

- ``lru``: the one unused longest (spreads load, lets windows refill);
- ``round_robin``: the next account id after the last one leased for the operation (a fixed cycle);
- ``health``: the lowest share of failed requests for the operation first, then lru.
"""

from __future__ import annotations

from typing import Literal, get_args

RotationStrategy = Literal["lru", "round_robin", "health"]
STRATEGIES: tuple[str, ...] = get_args(RotationStrategy)
