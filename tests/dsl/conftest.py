"""Fixtures of the dsl tests: counting the demo objective's calls, and the run_exp script."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from slurm_search.dsl.demo import CALLS_VARIABLE

RUN_EXP = Path(sys.executable).parent / "run_exp"


class Calls:
    """The demo objective's calls, as lines ``x y seed value`` of a file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[str]:
        if not self.path.exists():
            return []
        return [line for line in self.path.read_text().splitlines() if line.strip()]

    def count(self) -> int:
        return len(self.lines())

    def seed_values(self) -> list[tuple[int, float]]:
        """(seed, value) of each call: a call's identity (the value follows from x, y and seed)."""
        out = []
        for line in self.lines():
            _, _, seed, value = line.split()
            out.append((int(seed), float(value)))
        return out

    def reset(self) -> None:
        self.path.unlink(missing_ok=True)


@pytest.fixture
def calls(tmp_path, monkeypatch) -> Calls:
    path = tmp_path / "calls.txt"
    monkeypatch.setenv(CALLS_VARIABLE, str(path))
    return Calls(path)
