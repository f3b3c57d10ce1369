"""Real SIGKILL of real writers at random moments, many times over."""

from __future__ import annotations

import os
import pickle
import random
import re
import signal
import time

import pytest
import state_workers

from slurm_search import state
from slurm_search.state import _writes as _files
from slurm_search.state import _frames

KILLS = 100
SIZE = 1 << 20  # about 1 MB objects


def _kill_at_random(server, out, rng, longest, *command, after=b"B "):
    """Start a worker, wait until it printed `after`, SIGKILL it after a random delay.

    Returns the progress lines it printed.
    """
    pid = server.start(out, *command)
    deadline = time.monotonic() + 120
    while after not in out.read_bytes():
        assert time.monotonic() < deadline, f"the worker never printed {after!r}"
        time.sleep(0.001)
    time.sleep(rng.uniform(0, longest))
    os.kill(pid, signal.SIGKILL)
    status = server.wait()
    assert status == -signal.SIGKILL, out.read_text()
    return out.read_text().splitlines()


def _tail(path, offset):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read()


def _begun_and_done(lines):
    begun = [int(x.split()[1]) for x in lines if x.startswith("B ")]
    done = [int(x.split()[1]) for x in lines if x.startswith("D ")]
    return begun, done


@pytest.fixture
def server():
    server = state_workers.ForkServer()
    yield server
    server.close()


def test_object_writer_killed_at_random_moments(slurm_search_home, server, tmp_path):
    rng = random.Random(1234)
    state.create("exp:crash", state_workers.blob(0, SIZE))
    committed = 0  # the last version known to be written
    folder = slurm_search_home / "exp" / "crash"
    seen_versions = set()
    for _ in range(KILLS):
        lines = _kill_at_random(
            server, tmp_path / "out", rng, 0.1, "writer", "exp:crash", str(SIZE), str(committed + 1)
        )
        begun, done = _begun_and_done(lines)
        allowed = {done[-1] if done else committed}
        if begun and (not done or begun[-1] > done[-1]):
            allowed.add(begun[-1])  # the write in flight may or may not have landed
        obj = state.read("exp:crash")
        assert obj["version"] in allowed
        assert obj["blob"] == bytes([obj["version"] % 251]) * SIZE
        # The previous version is whole too.
        with open(folder / "session_state.pickle.prev", "rb") as f:
            prev = pickle.load(f)
        assert prev["blob"] == bytes([prev["version"] % 251]) * SIZE
        # (equal when the writer died between keeping .prev and the rename)
        assert prev["version"] <= obj["version"]
        committed = obj["version"]
        seen_versions.add(committed)
        # What the killed writer leaves: only its own temporary files.
        leftovers = set(os.listdir(folder)) - {"session_state.pickle", "session_state.pickle.prev"}
        assert all(_TEMP.fullmatch(name) for name in leftovers), leftovers
    assert len(seen_versions) > KILLS // 5  # the writers did get to write between kills
    # The next process to write there sweeps the dead writers' temporary files.
    _files._swept.clear()
    with state.transaction("exp:crash") as box:
        box.value = state_workers.blob(committed + 1, SIZE)
    assert state.read("exp:crash")["version"] == committed + 1
    assert sorted(os.listdir(folder)) == ["session_state.pickle", "session_state.pickle.prev"]


# host and pid of the writer, then a random part: unique per writer and call.
_TEMP = re.compile(r"\.session_state\.pickle(\.prev)?\.tmp\.[^/]+\.\d+\.[0-9a-f]{8}")


def test_appender_killed_at_random_moments(slurm_search_home, server, tmp_path):
    rng = random.Random(4321)
    max_size = 512 * 1024  # big frames, so that kills can tear them
    log = slurm_search_home / "search" / "crash" / "records.log"
    got, pos, torn, kills = [], 0, 0, 0
    # At least KILLS kills, and on until one of them tore a frame for real
    # (a few in a hundred do here), within a bound.
    while kills < KILLS or (torn == 0 and kills < 4 * KILLS):
        kills += 1
        # Half the kills may land in a worker's first append (which verifies
        # the whole log and cuts a torn tail), half in its steady appends.
        after = rng.choice([b"B ", b"D "])
        lines = _kill_at_random(
            server, tmp_path / "out", rng, 0.03,
            "appender", "search:crash", str(max_size), str(len(got)), after=after,
        )
        begun, done = _begun_and_done(lines)
        before = len(got)
        recs, pos = state.records("search:crash", pos)
        got.extend(recs)
        # Every record whose append returned reads back, exactly once, in order;
        # the one in flight may be there or not.
        assert [r[0] for r in got] == list(range(len(got)))
        last_done = done[-1] if done else before - 1
        assert last_done <= len(got) - 1 <= begun[-1]
        for rec in recs:
            assert rec == state_workers.record(rec[0], max_size)
        if log.exists() and log.stat().st_size > max(pos.offset, _frames.FILE_HEADER_SIZE):
            torn += 1  # the next appender must cut this off
            assert _frames.scan(_tail(log, pos.offset)).torn is not None
    end = state.append("search:crash", "end")
    assert state.records("search:crash", pos) == (["end"], end)
    assert log.stat().st_size == end.offset
    assert torn > 0, f"none of {kills} kills tore a frame"
