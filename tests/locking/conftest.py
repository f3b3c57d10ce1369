"""Every locking test runs once per lock backend (`slurm_search.locking.BACKENDS`):
each keeps the `LockBackend` contract, so they share one suite."""

from __future__ import annotations

import pytest

from slurm_search.locking import BACKENDS


@pytest.fixture(autouse=True, params=list(BACKENDS))
def lock_mode(request, monkeypatch):
    monkeypatch.setenv("SLURM_SEARCH_LOCK", request.param)
    # A short grace period keeps the soft mode's stale-lock test quick; the
    # renewer touches the file every grace/4, well inside it.
    monkeypatch.setenv("SLURM_SEARCH_LOCK_GRACE", "2")
    return request.param
