"""packages/state installs alone (with only packages/locking) into an empty
virtualenv, and works there."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGES = Path(__file__).resolve().parents[2] / "packages"

SMOKE = """
import importlib.util, sys
from slurm_search import state
state.create("exp:alone", {"n": 1})
with state.transaction("exp:alone") as box:
    box.value["n"] += 1
state.append("exp:alone", "rec")
assert state.read("exp:alone") == {"n": 2}
assert state.records("exp:alone")[0] == ["rec"]
others = [m for m in ("slurm_search.session", "slurm_search.dsl", "slurm_search.rl")
          if importlib.util.find_spec(m) is not None]
assert not others, others
print("ok")
"""


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_installs_alone_into_an_empty_venv(tmp_path, slurm_search_home):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Build from copies, so that building leaves nothing in the work tree.
    sources = []
    for part in ("locking", "state"):
        dest = tmp_path / part
        shutil.copytree(
            PACKAGES / part, dest,
            ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"),
        )
        sources.append(str(dest))
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *sources],
        check=True, timeout=500,
    )
    out = subprocess.run([str(python), "-c", SMOKE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
