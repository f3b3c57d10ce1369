"""What `make dist` builds, and what a user who wants only part of it gets.

The wheels and sdists of the five packages and the meta-package pass
`twine check --strict`. The built wheel of slurm-search-locking alone, then
of slurm-search-state alone (with the locking wheel it requires), install
into empty virtual environments with only their declared dependencies, and
work there, as for a user who wants only the lock or only the store.

The distributions are built from this checkout (`python -m build`, as
`make dist` does) and installed with `--no-index --find-links`: pip takes
nothing but them, so the version ranges between our packages must match the
versions built.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
# The clean venv's commands see nothing of this one (PYTHONPATH would show
# the checkout's packages to pip and Python).
CLEAN = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def _version(part: str) -> str:
    return tomllib.loads((ROOT / "packages" / part / "pyproject.toml").read_text())["project"]["version"]


PARTS = ("locking", "state", "session", "dsl", "rl")


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    """The wheels and sdists of the five packages and the meta-package, as `make dist` builds them.

    Each is built from a copy of its folder, so the checkout gets no build/ or egg-info of the test's.
    """
    out, sources = tmp_path_factory.mktemp("dist"), tmp_path_factory.mktemp("sources")
    skip = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    folders = []
    for part in PARTS:
        folders.append(shutil.copytree(ROOT / "packages" / part, sources / part, ignore=skip))
    meta = sources / "meta"
    meta.mkdir()
    for name in ("pyproject.toml", "README.md"):  # the meta-package holds no code
        shutil.copy(ROOT / name, meta / name)
    for folder in [*folders, meta]:
        subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), "."],
            check=True, capture_output=True, cwd=folder,
        )
    return out


@pytest.mark.slow
def test_the_distributions_pass_twine_check(wheels):
    built = sorted(p.name for p in wheels.iterdir())
    versions = {part: _version(part) for part in PARTS}
    for part, version in versions.items():
        assert f"slurm_search_{part}-{version}-py3-none-any.whl" in built
        assert f"slurm_search_{part}-{version}.tar.gz" in built
    proc = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted(wheels.iterdir()))],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == len(built) == 12


def _venv_with(tmp_path: Path, wheels: Path, requirement: str) -> tuple[Path, set[str]]:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheels), requirement],
        check=True,
        cwd=tmp_path,  # not the repository, whose folders would shadow the install
        env=CLEAN,
    )
    installed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True, env=CLEAN
    ).stdout
    return python, {line.lower() for line in installed.splitlines() if line.lower().startswith("slurm-search")}


def _run(python: Path, script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, cwd=tmp_path,
        env={"SLURM_SEARCH_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.slow
def test_the_locking_wheel_installs_alone(tmp_path, wheels):
    python, ours = _venv_with(tmp_path, wheels, "slurm-search-locking")
    assert ours == {f"slurm-search-locking=={_version('locking')}"}
    script = (
        "import slurm_search.locking as L, sys\n"
        "with L.lock('exp:alone', timeout=5): assert L.have_lock('exp:alone')\n"
        "assert not L.have_lock('exp:alone')\n"
        "with L.lock('exp:alone', timeout=5): pass\n"  # released: it can be taken again
        "assert not hasattr(sys.modules['slurm_search'], '__file__') or sys.modules['slurm_search'].__file__ is None\n"
        "print(L.locks_dir())\n"
    )
    out = _run(python, script, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tmp_path / "home" / "locks")


@pytest.mark.slow
def test_the_state_wheel_installs_alone_with_its_locking(tmp_path, wheels):
    python, ours = _venv_with(tmp_path, wheels, "slurm-search-state")
    assert ours == {f"slurm-search-state=={_version('state')}", f"slurm-search-locking=={_version('locking')}"}
    script = (
        "from slurm_search import state\n"
        "state.create('exp:alone', {'n': 1, 'xs': [1.5, 2.5]})\n"
        "with state.transaction('exp:alone') as box: box.value['n'] += 1\n"
        "state.append('exp:alone', 'a', 'b')\n"
        "records, _ = state.records('exp:alone')\n"
        "print(state.read('exp:alone'), records, state.names('exp'))\n"
    )
    out = _run(python, script, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "{'n': 2, 'xs': [1.5, 2.5]} ['a', 'b'] ['exp:alone']"
    assert (tmp_path / "home" / "exp" / "alone" / "session_state.pickle").exists()
