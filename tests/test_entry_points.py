"""The console scripts point at public ``main`` functions, and the old private paths still work."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _scripts() -> dict[str, str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def test_each_command_is_a_public_main():
    scripts = _scripts()
    assert scripts == {"run_exp": "slurm_search.dsl:main", "ssearch": "slurm_search.session.workers:main"}
    for target in scripts.values():
        module_name, _, attr = target.partition(":")
        assert not any(part.startswith("_") for part in module_name.split(".")), target
        module = importlib.import_module(module_name)
        assert attr in module.__all__ and callable(getattr(module, attr))


@pytest.mark.parametrize(
    ("old", "new", "usage"),
    [
        ("slurm_search.dsl._cli", "slurm_search.dsl", "Usage: run_exp"),
        ("slurm_search.session.workers._cli", "slurm_search.session.workers", "Usage: ssearch"),
    ],
)
def test_the_old_private_path_runs_the_same_command(old, new, usage, capsys):
    # Console scripts installed before the change import the old path until reinstalled.
    for module in (old, new):
        try:
            importlib.import_module(module).main(["--help"])
        except SystemExit as done:  # ssearch exits, run_exp returns on success
            assert done.code in (0, None)
        assert usage in capsys.readouterr().out
