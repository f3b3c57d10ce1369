"""packages/locking installs alone, from its folder, into an empty virtual
environment with only its declared dependencies, and works there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_locking_installs_alone(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(ROOT / "packages" / "locking")],
        check=True,
        cwd=tmp_path,  # not the repository, whose folders would shadow the install
    )
    installed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True
    ).stdout
    names = {line.split("==")[0].lower() for line in installed.splitlines()}
    assert "slurm-search-locking" in names
    assert not {n for n in names if n.startswith("slurm-search-") and n != "slurm-search-locking"}
    script = (
        "import slurm_search.locking as L, sys\n"
        "with L.lock('exp:alone', timeout=5): assert L.have_lock('exp:alone')\n"
        "assert not hasattr(sys.modules['slurm_search'], '__file__') or sys.modules['slurm_search'].__file__ is None\n"
        "print(L.locks_dir())\n"
    )
    out = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, cwd=tmp_path,
        env={"SLURM_SEARCH_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tmp_path / "home" / "locks")
