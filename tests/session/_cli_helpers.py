"""Helpers of the ssearch tests: a real entry-point plugin, running the real commands (ssearch, run_exp)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SSEARCH = Path(sys.executable).parent / "ssearch"

PLUGIN_MODULE = '''
"""Session types and objectives for the ssearch tests, registered as a real entry point."""
import os
from hyperopt import hp


def broken(params):
    # The objective's module does not exist: create_session must refuse it.
    return {"objective": "no_such_module_anywhere:objective", "space": {"x": hp.uniform("x", 0, 1)}}


def crashing(params):
    return {"objective": "ssearch_test_types:die", "space": {"x": hp.uniform("x", 0, 1)}, "max_evals": 4}


def die(params, context):
    # A worker process that dies hard, as after a segfault or an OOM kill.
    os._exit(3)
'''


def register(root: Path, dist: str, group: str, entries: dict[str, str]) -> None:
    """Write the dist-info of a distribution `dist` under `root` whose entry points `group` are `entries`.

    With `root` on sys.path / PYTHONPATH, importlib.metadata finds them: a registry's real path.
    """
    folder = root / f"{dist.replace('-', '_')}-0.0.dist-info"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.0\n")
    (folder / "entry_points.txt").write_text(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()))


def install_plugin(root: Path) -> Path:
    """Write a module and its dist-info (with entry points) under ``root``; return ``root``.

    Putting ``root`` on sys.path / PYTHONPATH makes importlib.metadata find
    the session types ``broken`` and ``crashing``: the registry's real path.
    """
    register(root, "ssearch-test-types", "slurm_search.session_types",
             {"broken": "ssearch_test_types:broken", "crashing": "ssearch_test_types:crashing"})
    (root / "ssearch_test_types.py").write_text(PLUGIN_MODULE)
    return root


def ssearch(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the installed ``ssearch`` command (a real process)."""
    return subprocess.run(
        [str(SSEARCH), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else dict(os.environ),
        stdin=subprocess.DEVNULL,
    )


RUN_EXP = Path(sys.executable).parent / "run_exp"


def run_command(
    argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``ssearch`` or ``run_exp`` (``argv[0]``) as a real process."""
    script = {"ssearch": SSEARCH, "run_exp": RUN_EXP}[argv[0]]
    return subprocess.run(
        [str(script), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else dict(os.environ),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_error(returncode: int, stdout: str, stderr: str, *needles: str) -> str:
    """A user error: non-zero exit, one line on stderr naming it, no traceback."""
    assert returncode != 0, (stdout, stderr)
    assert "Traceback" not in stdout + stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]
