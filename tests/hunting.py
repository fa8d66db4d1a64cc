"""Hypothesis settings for a property test that is fixed in CI and a hunt on demand.

In CI a property test must give the same answer on every run (derandomized, a fixed number of draws);
when looking for new failures, an environment variable asks for that many random draws instead.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def fixed_or_hunting(variable: str, fixed: int) -> settings:
    """`fixed` derandomized draws, or `$variable` random ones when it is set to a number above 0."""
    hunt = int(os.environ.get(variable, "0"))
    return settings(
        max_examples=hunt or fixed,
        derandomize=not hunt,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
