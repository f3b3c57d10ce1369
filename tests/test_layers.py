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
