"""Shared fixtures: every test gets its own store root, so tests never touch
~/hyperparameters and never see each other's objects."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def slurm_search_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(home))
    return home
