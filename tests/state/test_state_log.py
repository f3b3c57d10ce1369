"""Append-only logs in one process: framing, incremental reads, torn tails,
damage, compaction."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest

from slurm_search import state
from slurm_search.state import _frames
from slurm_search.state._log import _verified

HEADER = _frames.FILE_HEADER_SIZE


def _log(name="search:s1"):
    return state.paths(name).log


def test_append_and_read_incrementally():
    assert state.records("search:s1") == ([], state.START)
    pos0 = state.append("search:s1", "a", {"b": 2})
    recs, pos = state.records("search:s1")
    assert recs == ["a", {"b": 2}]
    assert pos == pos0
    assert state.records("search:s1", pos) == ([], pos)
    end = state.append("search:s1", "c")
    state.append("search:s1", "d", "e")
    recs, pos2 = state.records("search:s1", pos)
    assert recs == ["c", "d", "e"]
    assert pos2.offset == _log().stat().st_size
    assert state.records("search:s1", end)[0] == ["d", "e"]
    assert state.records("search:s1", 0)[0] == ["a", {"b": 2}, "c", "d", "e"]
    # An empty append writes nothing and says where the log ends.
    assert state.append("search:s1") == pos2
    assert _log().stat().st_size == pos2.offset


def test_each_append_is_one_frame():
    state.append("search:s1", 1, 2, 3)
    state.append("search:s1", 4)
    data = _log().read_bytes()
    found = _frames.scan(data[HEADER:])
    assert len(found.payloads) == 2
    assert found.torn is None


def test_log_lives_beside_the_object(slurm_search_home):
    state.create("search:s1", {"meta": 1})
    state.append("search:s1", "r")
    folder = slurm_search_home / "search" / "s1"
    assert sorted(os.listdir(folder)) == ["records.log", "session_state.pickle"]
    assert (folder / "records.log").stat().st_mode & 0o777 == 0o600
    state.delete("search:s1")
    assert state.records("search:s1") == ([], state.START)


def test_truncated_mid_frame_simulates_a_crash_and_the_next_append_repairs_it():
    # Cutting the file by hand in the middle of the last frame leaves what a
    # writer killed during its write, or a node that crashed before the
    # write reached the disk, leaves behind.
    state.append("search:s1", "one")
    state.append("search:s1", "two", "three")
    good_end = state.append("search:s1", "four").offset
    state.append("search:s1", "five", "six" * 100)
    full = _log().stat().st_size
    for cut in (full - 1, good_end + 20, good_end + 3):
        os.truncate(_log(), cut)
        recs, pos = state.records("search:s1")
        assert recs == ["one", "two", "three", "four"]
        assert pos.offset == good_end  # the torn frame is not skipped over
        assert _log().stat().st_size == cut  # readers never write
    state.append("search:s1", "seven")
    assert state.records("search:s1")[0] == ["one", "two", "three", "four", "seven"]
    found = _frames.scan(_log().read_bytes()[HEADER:])
    assert found.torn is None


def test_a_reader_waiting_on_a_torn_tail_goes_on_after_the_repair():
    state.append("search:s1", "one")
    state.append("search:s1", "two")
    os.truncate(_log(), _log().stat().st_size - 2)
    recs, pos = state.records("search:s1")
    assert recs == ["one"]
    state.append("search:s1", "three")
    assert state.records("search:s1", pos)[0] == ["three"]


def test_zero_filled_tail_simulates_a_node_crash():
    # After a crash the file may have grown while the data never reached
    # the disk: the tail reads as zeros.
    state.append("search:s1", "one")
    end = _log().stat().st_size
    with open(_log(), "ab") as f:
        f.write(bytes(4096))
    recs, pos = state.records("search:s1")
    assert recs == ["one"] and pos.offset == end
    state.append("search:s1", "two")
    assert state.records("search:s1")[0] == ["one", "two"]


def _damage(offset):
    with open(_log(), "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


@pytest.mark.parametrize("where", ["payload", "length", "checksum"])
def test_damaged_frame_in_the_middle_raises_with_offset(where):
    first = state.append("search:s1", "one").offset
    second = state.append("search:s1", "two" * 50).offset
    state.append("search:s1", "three")
    at = {"payload": second - 5, "length": first + 1, "checksum": first + 9}[where]
    _damage(at)
    size = _log().stat().st_size
    with pytest.raises(state.CorruptState) as info:
        state.records("search:s1")
    err = info.value
    assert err.offset == first  # the frame that starts there
    assert err.path == _log()
    assert f"at byte {first}" in str(err) and str(_log()) in str(err)
    # A reader past the damage is not stopped by it.
    assert state.records("search:s1", state.Position(err_epoch(), second))[0] == ["three"]
    # A new writer (it verifies the whole log once) refuses to add to a
    # damaged log, and changes nothing.
    out = subprocess.run(
        [sys.executable, "-c", "from slurm_search import state; state.append('search:s1', 4)"],
        capture_output=True, text=True,
    )
    assert out.returncode != 0 and "CorruptState" in out.stderr
    assert _log().stat().st_size == size


def err_epoch():
    return _frames.parse_file_header(_log().read_bytes())


def test_damaged_file_header():
    state.append("search:s1", "one")
    _damage(10)
    with pytest.raises(state.CorruptState) as info:
        state.records("search:s1")
    assert info.value.offset == 0


def test_compact_replaces_records_and_keeps_later_ones():
    state.append("search:s1", 1, 2)
    state.append("search:s1", 3)
    recs, pos = state.records("search:s1")
    state.append("search:s1", 4)
    state.append("search:s1", 5)
    after = state.compact("search:s1", ("snapshot", recs), upto=pos)
    assert state.records("search:s1")[0] == [("snapshot", [1, 2, 3]), 4, 5]
    assert state.records("search:s1", after)[0] == [4, 5]
    with pytest.raises(state.LogCompacted) as info:
        state.records("search:s1", pos)
    assert info.value.position == pos
    assert "read it again from 0" in str(info.value)
    with pytest.raises(state.LogCompacted):
        state.compact("search:s1", "x", upto=pos)
    state.append("search:s1", 6)
    assert state.records("search:s1", after)[0] == [4, 5, 6]


def test_compact_whole_log_and_from_nothing():
    state.compact("search:new", "first")  # no log yet
    assert state.records("search:new")[0] == ["first"]
    state.append("search:s1", 1)
    state.append("search:s1", 2)
    state.compact("search:s1", "all")
    assert state.records("search:s1")[0] == ["all"]
    state.compact("search:s1", "front", upto=0)
    assert state.records("search:s1")[0] == ["front", "all"]


def test_compact_cuts_a_torn_tail_first():
    state.append("search:s1", 1)
    state.append("search:s1", 2)
    os.truncate(_log(), _log().stat().st_size - 1)
    state.compact("search:s1", "snap")
    assert state.records("search:s1")[0] == ["snap"]


def test_a_recreated_log_is_noticed():
    state.append("search:s1", 1)
    _, pos = state.records("search:s1")
    state.delete("search:s1")
    with pytest.raises(state.LogCompacted):
        state.records("search:s1", pos)
    state.append("search:s1", 2)
    with pytest.raises(state.LogCompacted):
        state.records("search:s1", pos)
    assert state.records("search:s1")[0] == [2]


def test_a_writer_notices_a_log_replaced_behind_its_back():
    # The per-process cache of the verified end must not be trusted after
    # another process compacted the log (new file, new epoch).
    state.append("search:s1", "a" * 1000)
    state.append("search:s1", "b")
    data = _log().read_bytes()
    # Another process's compaction, done by hand: same path, new inode, new epoch.
    tmp = _log().with_name("other")
    tmp.write_bytes(_frames.file_header(12345) + _frames.frame(pickle.dumps(("z",))))
    os.chmod(tmp, 0o600)
    os.replace(tmp, _log())
    assert len(data) > _log().stat().st_size
    state.append("search:s1", "c")
    assert state.records("search:s1")[0] == ["z", "c"]


def test_bad_positions():
    state.append("search:s1", 1)
    with pytest.raises(TypeError):
        state.records("search:s1", 5)
    epoch = err_epoch()
    with pytest.raises(state.CorruptState):
        state.records("search:s1", state.Position(epoch, 10**6))


def test_a_flipped_byte_in_a_complete_last_frame_is_damage_not_a_torn_tail():
    state.append("search:s1", "one")
    last = state.append("search:s1", "two" * 50)
    size = _log().stat().st_size
    _damage(size - 10)  # inside the last frame's payload; its final b"." is intact
    with pytest.raises(state.CorruptState, match="frame fails its checksum") as info:
        state.records("search:s1")
    assert "salvage" in str(info.value)
    _verified.clear()  # as a new process: it verifies the whole log before appending
    with pytest.raises(state.CorruptState):
        state.append("search:s1", "three")
    assert _log().stat().st_size == size  # nothing cut, nothing added
    assert last.offset == size


def test_a_last_frame_whose_end_was_never_written_is_a_torn_tail():
    state.append("search:s1", "one")
    state.append("search:s1", "two" * 50)
    size = _log().stat().st_size
    with open(_log(), "r+b") as f:  # the last page never reached the disk
        f.seek(size - 40)
        f.write(b"\0" * 40)
    assert state.records("search:s1")[0] == ["one"]
    _verified.clear()  # as the process that starts after the crash
    state.append("search:s1", "three")
    assert state.records("search:s1")[0] == ["one", "three"]


def test_a_record_that_need_not_be_durable_is_not_fsynced_on_a_local_disk(slurm_search_home, monkeypatch):
    # A spy around the real os.fsync counts the calls (a power failure, the
    # only thing that could tell the difference, cannot be made in a test).
    from slurm_search.state import _log

    state.append("exp:durable", "first")  # (creating the log fsyncs its folders too)
    calls = []
    real = os.fsync
    monkeypatch.setattr(_log.os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    state.append("exp:durable", "second")
    assert len(calls) == 1
    state.append("exp:durable", "claim", durable=False)
    assert len(calls) == 1
    assert state.records("exp:durable")[0] == ["first", "second", "claim"]  # seen at once
    state.append("exp:durable", "report")
    assert len(calls) == 2
