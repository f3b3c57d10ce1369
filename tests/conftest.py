"""Shared fixtures: every test gets its own store root, so tests never touch
~/hyperparameters and never see each other's objects."""

from __future__ import annotations

import pytest

# The real one-node Slurm cluster (session-scoped fixture `slurm_cluster`).
pytest_plugins = ["slurm_fixtures"]


@pytest.fixture(autouse=True)
def slurm_search_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(home))
    return home
