"""Checkpoints beside a log: a value standing for the log up to a position."""

from __future__ import annotations

import os

from slurm_search import state


def test_save_and_load_with_info_and_a_cheap_head():
    state.append("search:c", "a", "b")
    recs, pos = state.records("search:c")
    assert state.load_checkpoint("search:c") is None and state.checkpoint_info("search:c") is None
    state.save_checkpoint("search:c", {"seen": recs}, pos, info={"n": 2})
    value, at, info = state.load_checkpoint("search:c")
    assert value == {"seen": ["a", "b"]} and at == pos and info == {"n": 2}
    assert state.checkpoint_info("search:c") == (pos, {"n": 2})
    assert state.log_end("search:c") == pos
    state.append("search:c", "c")
    assert state.log_end("search:c") != pos
    assert state.records("search:c", at)[0] == ["c"]  # read on from the checkpoint


def test_a_damaged_checkpoint_is_ignored():
    state.append("search:c", "a")
    _, pos = state.records("search:c")
    state.save_checkpoint("search:c", list(range(1000)), pos)
    path = state.paths("search:c").dir / "checkpoint.pickle"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    assert state.load_checkpoint("search:c") is None
    assert state.checkpoint_info("search:c") == (pos, None)  # the head alone is intact: it reads no body
    path.write_bytes(b"garbage")
    assert state.load_checkpoint("search:c") is None and state.checkpoint_info("search:c") is None


def test_a_checkpoint_of_an_older_epoch_is_ignored():
    state.append("search:c", "a", "b")
    _, pos = state.records("search:c")
    state.save_checkpoint("search:c", ["a", "b"], pos)
    state.compact("search:c", "snap")
    # The log was replaced on purpose: the checkpoint stands for nothing now.
    assert state.load_checkpoint("search:c") is None and state.checkpoint_info("search:c") is None
    try:
        state.records("search:c", pos)
    except state.LogCompacted:
        pass
    else:
        raise AssertionError("a stale position was read")
    assert state.records("search:c")[0] == ["snap"]


def test_the_checkpoint_file_is_private():
    state.append("search:c", "a")
    _, pos = state.records("search:c")
    state.save_checkpoint("search:c", 1, pos)
    assert os.stat(state.paths("search:c").dir / "checkpoint.pickle").st_mode & 0o077 == 0
