"""Unpickling runs code: the store refuses files someone else could have written."""

from __future__ import annotations

import os

import pytest

from slurm_search import state

IS_ROOT = os.geteuid() == 0


def _targets(home):
    folder = home / "exp" / "demo"
    return {
        "file": folder / "session_state.pickle",
        "folder": folder,
        "type folder": home / "exp",
        "root": home,
    }


@pytest.mark.parametrize("which", ["file", "folder", "type folder", "root"])
@pytest.mark.parametrize("bits,fix", [(0o020, "chmod g-w"), (0o002, "chmod o-w")])
def test_writable_by_group_or_others_is_refused(slurm_search_home, which, bits, fix):
    state.create("exp:demo", {"n": 1})
    state.append("exp:demo", "rec")
    target = _targets(slurm_search_home)[which]
    os.chmod(target, target.stat().st_mode | bits)
    calls = [lambda: state.read("exp:demo")]
    if which != "file":  # the log is a file of its own (next test)
        calls.append(lambda: state.records("exp:demo"))
    for call in calls:
        with pytest.raises(state.UnsafeState) as info:
            call()
        err = info.value
        assert err.path == target
        assert f"{fix} {target}" in str(err)
        assert "unpickling runs code" in str(err)
        assert "\n" not in str(err)
    with pytest.raises(state.UnsafeState):
        with state.transaction("exp:demo"):
            pass
    os.chmod(target, target.stat().st_mode & ~bits)
    assert state.read("exp:demo") == {"n": 1}


def test_a_writable_log_is_refused(slurm_search_home):
    state.append("exp:demo", "rec")
    log = slurm_search_home / "exp" / "demo" / "records.log"
    os.chmod(log, 0o620)
    with pytest.raises(state.UnsafeState) as info:
        state.records("exp:demo")
    assert info.value.path == log


def test_shared_group_opt_in_allows_group_write_never_others(slurm_search_home, monkeypatch):
    monkeypatch.setenv("SLURM_SEARCH_SHARED_GROUP", "1")
    state.create("exp:demo", 1)
    folder = slurm_search_home / "exp" / "demo"
    # Created group-writable, whatever the umask.
    assert folder.stat().st_mode & 0o777 == 0o770
    assert (folder / "session_state.pickle").stat().st_mode & 0o777 == 0o660
    assert state.read("exp:demo") == 1
    os.chmod(folder / "session_state.pickle", 0o662)
    with pytest.raises(state.UnsafeState, match="chmod o-w"):
        state.read("exp:demo")
    monkeypatch.delenv("SLURM_SEARCH_SHARED_GROUP")
    os.chmod(folder / "session_state.pickle", 0o660)
    with pytest.raises(state.UnsafeState, match="SLURM_SEARCH_SHARED_GROUP=1"):
        state.read("exp:demo")


@pytest.mark.skipif(not IS_ROOT, reason="giving a file to another user needs root")
def test_owned_by_another_user_is_refused(slurm_search_home, monkeypatch):
    state.create("exp:demo", 1)
    path = slurm_search_home / "exp" / "demo" / "session_state.pickle"
    stranger, strangers_group = 54321, 54321
    os.chown(path, stranger, strangers_group)
    with pytest.raises(state.UnsafeState) as info:
        state.read("exp:demo")
    assert "owned by another user (uid 54321)" in str(info.value)
    # Shared by a group: another member's file is fine, a stranger's group is not.
    monkeypatch.setenv("SLURM_SEARCH_SHARED_GROUP", "1")
    with pytest.raises(state.UnsafeState, match="not in"):
        state.read("exp:demo")
    os.chown(path, stranger, os.getegid())
    assert state.read("exp:demo") == 1
    monkeypatch.delenv("SLURM_SEARCH_SHARED_GROUP")
    with pytest.raises(state.UnsafeState):
        state.read("exp:demo")
