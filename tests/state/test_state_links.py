"""Nothing in the store is read or written through a link: each is refused
with a typed error naming the path, and the outside file is left alone."""

from __future__ import annotations

import os

import pytest

from slurm_search import locking, state


@pytest.fixture
def outside(tmp_path):
    target = tmp_path / "outside.txt"
    target.write_bytes(b"precious")
    return target


def test_a_hard_link_in_the_lock_folder_is_not_truncated(slurm_search_home, outside, monkeypatch):
    monkeypatch.setenv("SLURM_SEARCH_LOCK", "flock")
    with locking.lock("exp:a"):
        pass
    lock_file = locking.locks_dir() / "exp:b.lock"
    os.link(outside, lock_file)
    with pytest.raises(locking.UnsafeLockFile, match=r"exp:b.lock: it is a link or not a plain file; remove it"):
        with locking.lock("exp:b"):
            pass
    assert outside.read_bytes() == b"precious"


def test_a_symlinked_lock_file_is_refused(slurm_search_home, outside, monkeypatch):
    monkeypatch.setenv("SLURM_SEARCH_LOCK", "flock")
    locking.ensure_dir(locking.locks_dir())
    os.symlink(outside, locking.locks_dir() / "exp:c.lock")
    with pytest.raises(locking.UnsafeLockFile):
        with locking.lock("exp:c"):
            pass
    assert outside.read_bytes() == b"precious"


@pytest.mark.parametrize("link, refused", [(os.symlink, "a symbolic link"), (os.link, "hard link")])
def test_a_linked_log_receives_nothing(slurm_search_home, outside, link, refused):
    state.append("exp:log", "first")
    log = state.paths("exp:log").log
    os.unlink(log)
    link(outside, log)
    with pytest.raises(state.UnsafeState, match=refused):
        state.append("exp:log", "second")
    if link is os.symlink:
        with pytest.raises(state.UnsafeState, match=refused):
            state.records("exp:log")
    assert outside.read_bytes() == b"precious"


def test_a_symlinked_object_is_not_read(slurm_search_home, tmp_path):
    state.create("exp:obj", {"n": 1})
    obj = state.paths("exp:obj").object
    elsewhere = tmp_path / "elsewhere.pickle"
    os.replace(obj, elsewhere)
    os.symlink(elsewhere, obj)
    with pytest.raises(state.UnsafeState, match="a symbolic link"):
        state.read("exp:obj")


def test_a_symlinked_folder_inside_the_store_is_refused(slurm_search_home, tmp_path):
    state.create("exp:obj", {"n": 1})
    real = tmp_path / "real"
    os.replace(state.paths("exp:obj").dir, real)
    os.symlink(real, state.paths("exp:obj").dir)
    with pytest.raises(state.UnsafeState, match="a symbolic link inside the store"):
        state.read("exp:obj")


def test_a_symlinked_logs_folder_is_refused(slurm_search_home, tmp_path):
    state.create("search:s", {"n": 1})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, state.paths("search:s").dir / "logs")
    with pytest.raises(state.UnsafeState):
        state.subdir("search:s", "logs")
    assert list(elsewhere.iterdir()) == []


def test_the_root_itself_may_be_a_link(tmp_path, monkeypatch):
    real = tmp_path / "real-root"
    real.mkdir(mode=0o700)
    link = tmp_path / "link-root"
    os.symlink(real, link)
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(link))
    state.create("exp:obj", {"n": 1})
    assert state.read("exp:obj") == {"n": 1}
    assert state.subdir("exp:obj", "logs").is_dir()
