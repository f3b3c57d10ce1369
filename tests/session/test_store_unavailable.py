"""A full or read-only store: every command says so in one line, exits 1,
and loses nothing (a real full tmpfs, a real read-only bind mount)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from _session_helpers import fill_up

BIN = os.path.dirname(sys.executable)


def _root_only():
    if os.geteuid() != 0:
        pytest.skip("mounting needs root")


@pytest.fixture
def full_store(tmp_path):
    _root_only()
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount)], check=True)
    try:
        env = dict(os.environ, SLURM_SEARCH_HOME=str(mount / "store"))
        ok = subprocess.run([f"{BIN}/ssearch", "start", "demo", "max_evals=2", "name=kept", "--method=inline"],
                            env=env, capture_output=True, text=True, timeout=300)
        assert ok.returncode == 0, ok.stderr
        fill_up(mount / "filler")
        yield env
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def read_only_store(tmp_path):
    _root_only()
    home = tmp_path / "store"
    env = dict(os.environ, SLURM_SEARCH_HOME=str(home))
    ok = subprocess.run([f"{BIN}/ssearch", "start", "demo", "max_evals=2", "name=kept", "--method=inline"],
                        env=env, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    subprocess.run(["mount", "--bind", str(home), str(home)], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(home)], check=True)
    try:
        yield env
    finally:
        subprocess.run(["umount", "-l", str(home)], check=False)


def _one_line_error(proc, *words):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    for word in words:
        assert word in last, last
    assert "nothing stored was lost" in last


@pytest.mark.parametrize(
    "argv",
    [
        ["ssearch", "start", "demo", "max_evals=2", "--method=inline"],
        ["ssearch", "stop", "kept"],
        ["run_exp", "demo", "--debug=true"],
    ],
)
def test_a_full_store(full_store, argv):
    proc = subprocess.run([f"{BIN}/{argv[0]}", *argv[1:]], env=full_store, capture_output=True, text=True, timeout=300)
    if argv[1] == "stop" and proc.returncode == 0:
        return  # its one small record fitted in the log's last page: nothing to refuse
    _one_line_error(proc, "is full", "free space there")
    shown = subprocess.run([f"{BIN}/ssearch", "show", "kept"], env=full_store, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0 and "2" in shown.stdout  # what was stored is still there


@pytest.mark.parametrize(
    "argv",
    [
        ["ssearch", "start", "demo", "max_evals=2", "--method=inline"],
        ["ssearch", "stop", "kept"],
        ["ssearch", "restart", "kept", "--no-launch"],
        ["run_exp", "demo", "--debug=true"],
    ],
)
def test_a_read_only_store(read_only_store, argv):
    proc = subprocess.run([f"{BIN}/{argv[0]}", *argv[1:]], env=read_only_store, capture_output=True, text=True, timeout=300)
    _one_line_error(proc, "read-only filesystem", "SLURM_SEARCH_HOME")
