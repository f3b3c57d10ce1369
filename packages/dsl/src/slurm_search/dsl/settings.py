"""The dsl package's settings (declared through `slurm_search.locking.settings`).

=============================  =========================================================
``SSEARCH_DEMO_CALLS``         a file the demo objective appends one line per call to (tests count calls)
=============================  =========================================================
"""

from __future__ import annotations

from pathlib import Path

from slurm_search.locking.settings import declare

__all__ = ["DEMO_CALLS", "demo_calls"]

DEMO_CALLS = declare(
    "SSEARCH_DEMO_CALLS",
    Path,
    None,
    "a file the demo objective appends one line per call to (tests count calls)",
    owner=__name__,
)


def demo_calls() -> Path | None:
    """``$SSEARCH_DEMO_CALLS``: where the demo notes its calls; None when unset."""
    return DEMO_CALLS.get()
