"""The layering check (tools/check_layers.py) passes on the repository and
fails, naming the file, when a lower package imports a higher one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / "tools" / "check_layers.py"


def run_check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True)


def test_repository_respects_layers():
    result = run_check(ROOT)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("package", "statement", "target"),
    [
        ("locking", "import slurm_search.state", "state"),
        ("state", "from slurm_search.session import work_on", "session"),
        ("session", "from slurm_search import dsl", "dsl"),
        ("dsl", "    import slurm_search.rl._agents  # lazy, still upward", "rl"),
    ],
)
def test_upward_import_fails(tmp_path, package, statement, target):
    shutil.copytree(ROOT / "packages", tmp_path / "packages", ignore=shutil.ignore_patterns("__pycache__"))
    module = tmp_path / "packages" / package / "src" / "slurm_search" / package / "_intruder.py"
    body = f"def f():\n{statement}\n" if statement.startswith(" ") else f"{statement}\n"
    module.write_text(body)
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "_intruder.py" in result.stderr
    assert f"imports slurm_search.{target}" in result.stderr


def test_namespace_init_is_refused(tmp_path):
    shutil.copytree(ROOT / "packages", tmp_path / "packages", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "packages" / "state" / "src" / "slurm_search" / "__init__.py").write_text("")
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "namespace package" in result.stderr


def _copy_with(tmp_path: Path, package: str, module: str, body: str, unit: str | None = None) -> Path:
    shutil.copytree(ROOT / "packages", tmp_path / "packages", ignore=shutil.ignore_patterns("__pycache__"))
    folder = tmp_path / "packages" / package / "src" / "slurm_search" / (unit or package)
    (folder / module).write_text(body)
    return tmp_path


@pytest.mark.parametrize(
    "statement",
    [
        "from slurm_search.state._files import open_nofollow",
        "import slurm_search.locking._api",
        "from slurm_search.dsl import _runtime",
        "    from slurm_search.session._claims import commit  # lazy, still a reach-in",
    ],
)
def test_a_private_reach_in_fails(tmp_path, statement):
    body = f"def f():\n{statement}\n" if statement.startswith(" ") else f"{statement}\n"
    root = _copy_with(tmp_path, "rl", "_intruder.py", body)
    result = run_check(root)
    assert result.returncode == 1
    assert "_intruder.py" in result.stderr and "a private part of" in result.stderr


def test_the_workers_layer_may_not_reach_into_the_core(tmp_path):
    root = _copy_with(tmp_path, "session", "_intruder.py", "from slurm_search.session._view import view\n", "session/workers")
    result = run_check(root)
    assert result.returncode == 1
    assert "session.workers imports slurm_search.session._view" in result.stderr


def test_public_names_and_type_checking_imports_pass(tmp_path):
    body = (
        "from typing import TYPE_CHECKING\n"
        "from slurm_search.session import progress\n"
        "if TYPE_CHECKING:\n"
        "    from slurm_search.state._files import open_nofollow\n"
    )
    root = _copy_with(tmp_path, "dsl", "_fine.py", body)
    assert run_check(root).returncode == 0


def test_an_import_cycle_fails_even_through_a_function_local_import(tmp_path):
    root = _copy_with(tmp_path, "state", "_ping.py", "from ._pong import pong\n\ndef ping():\n    return pong\n")
    folder = root / "packages" / "state" / "src" / "slurm_search" / "state"
    (folder / "_pong.py").write_text("def pong():\n    from . import _ping\n    return _ping\n")
    result = run_check(root)
    assert result.returncode == 1
    assert "import cycle among slurm_search.state._ping, slurm_search.state._pong" in result.stderr


def test_any_sub_package_with_a_public_face_is_a_unit_of_its_own(tmp_path):
    # No list of units: a sub-package whose __init__.py declares __all__ is one,
    # so its package reaches into it only through its public names.
    root = _copy_with(tmp_path, "state", "_intruder.py", "from slurm_search.state.journal._frames import frame\n")
    face = root / "packages" / "state" / "src" / "slurm_search" / "state" / "journal"
    face.mkdir()
    (face / "__init__.py").write_text('from ._frames import frame\n\n__all__ = ["frame"]\n')
    (face / "_frames.py").write_text("def frame():\n    return 1\n")
    result = run_check(root)
    assert result.returncode == 1
    assert "state imports slurm_search.state.journal._frames.frame, a private part of slurm_search.state.journal" in (
        result.stderr
    )
    # Without __all__ it is only a folder of the package: the same import passes.
    (face / "__init__.py").write_text("")
    assert run_check(root).returncode == 0, run_check(root).stderr
