"""A checkpoint never vouches for damaged bytes (issue 21): a log shorter than
its checkpoint, or changed before the checkpoint's position, is damage for
readers and writers alike, and salvage says so."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from slurm_search import state

NAME = "search:c"


def _log_with_checkpoint(n: int = 20) -> state.Position:
    for i in range(n):
        state.append(NAME, {"i": i, "pad": "x" * 50})
    recs, pos = state.records(NAME)
    state.save_checkpoint(NAME, list(recs), pos, info={"n": len(recs)})
    return pos


def _flip(offset: int) -> None:
    with open(state.paths(NAME).log, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x20]))


def _in_a_fresh_process(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new Python process (nothing verified, nothing cached)."""
    prelude = "from slurm_search import state\nfrom slurm_search.state import Position\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )


def test_a_fresh_process_does_not_append_after_a_byte_damaged_before_the_checkpoint():
    pos = _log_with_checkpoint()
    _flip(pos.offset // 2)
    size = os.path.getsize(state.paths(NAME).log)
    # The checkpoint's position was passed as `verified=` (what a session's
    # view did): it must not vouch for bytes this process never read.
    out = _in_a_fresh_process(f"state.append({NAME!r}, 'after', verified=Position({pos.epoch}, {pos.offset}))")
    assert out.returncode != 0 and "CorruptState" in out.stderr and "salvage" in out.stderr
    assert os.path.getsize(state.paths(NAME).log) == size
    # Loading the checkpoint checks the log's prefix against it.
    with pytest.raises(state.CorruptState, match="salvage"):
        state.load_checkpoint(NAME)
    with pytest.raises(state.CorruptState, match="salvage"):
        state.checkpoint_info(NAME)


def test_a_log_cut_below_its_checkpoint_is_damage_for_readers_and_writers():
    pos = _log_with_checkpoint()
    with open(state.paths(NAME).log, "r+b") as f:
        f.truncate(pos.offset // 2)
    size = os.path.getsize(state.paths(NAME).log)
    for call in (lambda: state.records(NAME), lambda: state.load_checkpoint(NAME), lambda: state.checkpoint_info(NAME)):
        with pytest.raises(state.CorruptState, match=r"shorter than its checkpoint.*salvage"):
            call()
    out = _in_a_fresh_process(f"state.append({NAME!r}, 'after')")
    assert out.returncode != 0 and "shorter than its checkpoint" in out.stderr
    assert os.path.getsize(state.paths(NAME).log) == size


def test_a_writer_of_this_process_checks_the_log_against_the_checkpoint_it_loads():
    pos = _log_with_checkpoint()
    _flip(pos.offset // 2)
    state._log._verified.clear()  # as a fresh process
    with pytest.raises(state.CorruptState):
        state.append(NAME, "after", verified=pos)


def test_a_checkpoint_is_not_written_over_damaged_bytes():
    pos = _log_with_checkpoint()
    os.unlink(state.paths(NAME).dir / "checkpoint.pickle")
    _flip(pos.offset // 2)
    with pytest.raises(state.CorruptState):
        state.save_checkpoint(NAME, [], pos)
    assert not (state.paths(NAME).dir / "checkpoint.pickle").exists()


def test_a_sound_log_and_checkpoint_read_on_and_take_appends():
    pos = _log_with_checkpoint()
    state.append(NAME, "more")
    value, at, info = state.load_checkpoint(NAME)
    assert at == pos and info == {"n": 20} and len(value) == 20
    assert state.records(NAME, at)[0] == ["more"]
    out = _in_a_fresh_process(f"state.append({NAME!r}, 'fresh')")
    assert out.returncode == 0, out.stderr
    assert state.records(NAME)[0][-2:] == ["more", "fresh"]


def test_salvage_without_the_checkpoints_type_keeps_the_log_and_sets_the_checkpoint_aside():
    pos = _log_with_checkpoint()
    with open(state.paths(NAME).log, "r+b") as f:
        f.truncate(pos.offset - 10)
    out = subprocess.run(
        [sys.executable, "-m", "slurm_search.state", "salvage", NAME], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "no damage" not in out.stdout and "shorter than its checkpoint" in out.stdout
    assert "moved aside" in out.stdout
    recs, _ = state.records(NAME)
    assert len(recs) == 19  # the cut frame is lost; what the log holds reads again
    assert not (state.paths(NAME).dir / "checkpoint.pickle").exists()
    assert any(p.name.startswith("checkpoint.pickle.damaged.") for p in state.paths(NAME).dir.iterdir())
