"""`python -m slurm_search.state doctor` (and `ssearch doctor`): the verdict on each kind of store."""

from __future__ import annotations

import os
import subprocess
import sys

import fs_views
import pytest

from slurm_search.locking._mode import forget_decisions


def _doctor(home, *args, **env):
    environ = dict(os.environ, SLURM_SEARCH_HOME=str(home), **env)
    proc = subprocess.run(
        [sys.executable, "-m", "slurm_search.state", "doctor", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc.returncode, proc.stdout, proc.stderr


def _problems(out):
    return [line for line in out.splitlines() if "PROBLEM" in line]


def test_a_local_store_is_safe(tmp_path):
    rc, out, err = _doctor(tmp_path / "store")
    assert rc == 0, out + err
    assert f"store      {tmp_path / 'store'}" in out
    assert "lock mode flock:" in out and "is a local filesystem" in out
    assert "live test, 2 processes on this host" in out and "200/200 transactions, 200/200 appends" in out
    assert "GiB free" in out
    assert out.rstrip().endswith("verdict    safe")
    assert not (tmp_path / "store" / "doctor").exists() or not os.listdir(tmp_path / "store" / "doctor")


@pytest.mark.parametrize("kind", ["node-local", "coherent"])
def test_a_fuse_view_is_safe_with_leases(kind, tmp_path):
    with fs_views.mounted(tmp_path, kind, count=1) as (view,):
        rc, out, err = _doctor(view / "store")
    assert rc == 0, out + err
    assert "filesystem: fuse" in out
    assert "lock mode soft: fuse (FUSE)" in out
    assert "200/200 transactions" in out


def test_forced_flock_on_node_local_locks_is_a_problem(tmp_path):
    with fs_views.mounted(tmp_path, "node-local", count=1) as (view,):
        rc, out, _ = _doctor(view / "store", SLURM_SEARCH_LOCK="flock")
    assert rc == 1
    (problem,) = _problems(out)
    assert "lock mode flock, forced on a filesystem whose locks may not exclude" in problem
    assert "--set-lock-mode soft" in problem
    assert "NOT safe: 1 problem(s)" in out


def test_a_host_that_disagrees_with_the_record_is_a_problem(tmp_path):
    assert _doctor(tmp_path / "store", SLURM_SEARCH_LOCK="soft")[0] == 0
    rc, out, _ = _doctor(tmp_path / "store", SLURM_SEARCH_LOCK="flock")
    assert rc == 1
    (problem,) = _problems(out)
    assert "locks with 'soft'" in problem and "SLURM_SEARCH_LOCK=flock" in problem


def test_set_lock_mode(tmp_path):
    home = tmp_path / "store"
    assert _doctor(home)[0] == 0
    rc, out, _ = _doctor(home, "--set-lock-mode", "soft")
    assert rc == 0 and "now locks with soft" in out
    assert (home / "lock-mode").read_text().splitlines()[0] == "soft"
    rc, out, _ = _doctor(home)
    assert rc == 0 and "lock mode soft: set by hand" in out
    forget_decisions()


def test_an_unsafe_folder_is_a_problem(tmp_path):
    home = tmp_path / "store"
    assert _doctor(home)[0] == 0
    os.chmod(home, 0o777)
    rc, out, _ = _doctor(home)
    assert rc == 1
    assert any("writable by others" in line and "chmod o-w" in line for line in _problems(out))


def test_ssearch_doctor_is_the_same(tmp_path):
    environ = dict(os.environ, SLURM_SEARCH_HOME=str(tmp_path / "store"))
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ssearch"), "doctor"],
        env=environ, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "verdict    safe" in proc.stdout


@pytest.mark.slurm
def test_doctor_through_slurm(slurm_cluster, tmp_path):
    rc, out, err = _doctor(tmp_path / "store", "--slurm", "--slurm-arg=--partition=debug")
    assert rc == 0, out + err
    live = [line for line in out.splitlines() if "Slurm tasks" in line]
    assert len(live) == 1 and "200/200 transactions, 200/200 appends" in live[0]


def test_doctor_where_flock_fails_with_enosys(tmp_path):
    fs_views.require()
    environ = dict(os.environ, SLURM_SEARCH_HOME=str(tmp_path / "store"))
    proc = subprocess.run(
        [*fs_views.ENOSYS_FLOCK, sys.executable, "-m", "slurm_search.state", "doctor"],
        env=environ, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lock mode soft: flock fails here (flock: Function not implemented)" in proc.stdout
    assert "200/200 transactions" in proc.stdout
