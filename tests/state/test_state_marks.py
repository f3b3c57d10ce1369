"""Marks: compare-and-swap file names that need no lock (create, rename, list)."""

from __future__ import annotations

import multiprocessing
import os
import stat

import pytest

from slurm_search import state
from slurm_search.locking import lock


def test_create_then_rename_forward():
    assert state.marks("search:s", "beats") == []
    assert state.mark("search:s", "beats", "u.0.1.1")
    assert not state.mark("search:s", "beats", "u.0.1.1")  # exists: the second create loses
    assert state.mark("search:s", "beats", "u.0.1.2", old="u.0.1.1")
    assert not state.mark("search:s", "beats", "u.0.1.3", old="u.0.1.1")  # gone: the late rename loses
    assert state.marks("search:s", "beats") == ["u.0.1.2"]
    state.unmark("search:s", "beats", "u.0.1.2")
    state.unmark("search:s", "beats", "u.0.1.2")  # twice is fine
    assert state.marks("search:s", "beats") == []


def test_the_folder_is_private_and_no_link_is_followed(tmp_path):
    state.mark("search:s", "beats", "a")
    folder = state.paths("search:s").dir / "beats"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    with pytest.raises(state.InvalidName):
        state.mark("search:s", "beats", "../escape")


def test_marks_take_no_lock():
    with lock("search:s"):
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(1) as pool:
            assert pool.apply(state.mark, ("search:s", "beats", "u.1.1.1")) is True


def _race(args):
    old, new = args
    return state.mark("search:race", "beats", new, old=old)


def test_of_many_processes_renaming_one_mark_exactly_one_wins():
    for round_ in range(5):
        old = f"u.{round_}.1.1"
        assert state.mark("search:race", "beats", old)
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(4) as pool:
            wins = pool.map(_race, [(old, f"u.{round_}.1.w{i}") for i in range(8)])
        assert sum(wins) == 1
        assert len([m for m in state.marks("search:race", "beats") if m.startswith(f"u.{round_}.")]) == 1
