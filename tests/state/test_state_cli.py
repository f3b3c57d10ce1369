"""`python -m slurm_search.state` as a real subprocess."""

from __future__ import annotations

import subprocess
import sys

from slurm_search import state


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "slurm_search.state", *args],
        capture_output=True, text=True, timeout=120,
    )


def test_restore_a_corrupt_object():
    state.create("exp:demo", {"v": 1})
    state.update("exp:demo", {"v": 2})
    path = state.paths("exp:demo").object
    path.write_bytes(path.read_bytes()[:5])
    try:
        state.read("exp:demo")
    except state.CorruptState as err:
        command = str(err).split("restore the previous version with: ")[1]
    assert command == "python -m slurm_search.state restore exp:demo"
    out = _cli(*command.split()[3:])
    assert out.returncode == 0, out.stderr
    assert "restored the previous version of exp:demo" in out.stdout
    assert state.read("exp:demo") == {"v": 1}


def test_show_and_list():
    state.create("exp:demo", {"v": 1})
    state.append("exp:demo", "a", "b")
    out = _cli("show", "exp:demo")
    assert out.returncode == 0, out.stderr
    assert "{'v': 1}" in out.stdout
    assert "records:  2" in out.stdout
    out = _cli("list")
    assert out.stdout.split() == ["exp:demo"]


def test_user_errors_are_one_line_and_exit_1():
    state.create("exp:demo", 1)
    for args, words in [
        (("restore", "exp:demo"), "has no previous version"),
        (("restore", "exp:nothing"), "has no previous version"),
        (("restore", "../etc:passwd"), "invalid state name"),
        (("show", "a:b:c"), "invalid state name"),
    ]:
        out = _cli(*args)
        assert out.returncode == 1
        assert out.stderr.count("\n") == 1 and words in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
    out = _cli("nonsense")
    assert out.returncode == 2 and "Traceback" not in out.stderr
