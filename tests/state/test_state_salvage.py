"""Salvaging a damaged log: `python -m slurm_search.state salvage TYPE:NAME`
on real files (flipped bytes, cuts, inserted garbage, a damaged header), the
command line as a real process, a crash half-way, and the pure scanner under
hypothesis."""

from __future__ import annotations

import errno
import os
import pickle
import signal
import subprocess
import sys
import textwrap

import pytest
import state_workers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slurm_search import state
from slurm_search.state import _frames, _log, _salvage

HEADER = _frames.FILE_HEADER_SIZE
NAME = "search:s1"


def _log_path(name=NAME):
    return state.paths(name).log


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "slurm_search.state", *args],
        capture_output=True, text=True, timeout=120, env=env,
    )


def _build(count=6, name=NAME):
    """A log of `count` frames; frame i holds records (i, 0) ... (i, i % 3).

    Returns the records of each frame and the (start, end) of each frame.
    """
    groups, bounds = [], []
    start = HEADER
    for i in range(count):
        recs = [(i, j, "x" * (10 * i)) for j in range(i % 3 + 1)]
        end = state.append(name, *recs).offset
        groups.append(recs)
        bounds.append((start, end))
        start = end
    return groups, bounds


def _flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x5A]))


def _rewrite(path, data):
    # Rewrite in place (same inode, same mode), as damage on disk would.
    with open(path, "r+b") as f:
        f.write(data)
        f.truncate(len(data))


def _asides(name=NAME):
    folder = state.paths(name).dir
    return sorted(folder / e for e in os.listdir(folder) if e.startswith("records.log.damaged."))


def _flat(groups):
    return [r for g in groups for r in g]


def _salvage_cli(name=NAME):
    out = _cli("salvage", name)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    return out.stdout


@pytest.mark.parametrize("where", ["payload", "length", "header checksum"])
def test_a_flipped_byte_in_a_middle_frame_loses_only_that_frame(where):
    groups, bounds = _build()
    start, end = bounds[2]
    at = {"payload": end - 3, "length": start + 1, "header checksum": start + 13}[where]
    _flip(_log_path(), at)
    damaged = _log_path().read_bytes()
    with pytest.raises(state.CorruptState) as info:
        state.records(NAME)
    assert info.value.offset == start
    _, old_pos = state.records(NAME, state.Position(_frames.parse_file_header(damaged), bounds[3][0]))

    text = _salvage_cli()

    assert "kept before the damage: 2 frames, 3 records" in text
    assert "recovered after it:     3 frames, 6 records" in text
    assert f"lost bytes {start}-{end} ({end - start} bytes)" in text
    [aside] = _asides()
    assert aside.name.startswith("records.log.damaged.") and aside.name.endswith("Z")
    assert f"kept as {aside}" in text
    assert aside.read_bytes() == damaged
    assert aside.stat().st_mode & 0o777 == 0o600
    recs, pos = state.records(NAME)
    assert recs == _flat(groups[:2] + groups[3:])
    # A reader holding a position in the damaged file starts over.
    with pytest.raises(state.LogCompacted):
        state.records(NAME, old_pos)
    assert state.append(NAME, "after").offset == _log_path().stat().st_size
    assert state.records(NAME, pos)[0] == ["after"]
    assert _log_path().stat().st_mode & 0o777 == 0o600
    # Salvaged once, the log is clean: a second run changes nothing.
    assert "has no damage" in _salvage_cli()
    assert len(_asides()) == 1


def test_a_cut_in_the_middle():
    groups, bounds = _build()
    data = _log_path().read_bytes()
    # From inside frame 1 to inside frame 3: frames 1, 2 and 3 are lost.
    a, b = bounds[1][0] + 20, bounds[3][0] + 5
    _rewrite(_log_path(), data[:a] + data[b:])
    text = _salvage_cli()
    assert "kept before the damage: 1 frame, 1 record" in text
    assert "recovered after it:     2 frames, 5 records" in text
    assert f"lost bytes {bounds[1][0]}-{bounds[4][0] - (b - a)}" in text
    assert state.records(NAME)[0] == _flat(groups[:1] + groups[4:])
    state.append(NAME, "after")
    assert state.records(NAME)[0] == _flat(groups[:1] + groups[4:]) + ["after"]


def test_a_cut_inside_one_payload_loses_only_that_frame():
    groups, bounds = _build()
    data = _log_path().read_bytes()
    # Frame 3's header is intact but promises more bytes than are left of it.
    a = bounds[3][0] + 20
    _rewrite(_log_path(), data[:a] + data[a + 4 :])
    _salvage_cli()
    assert state.records(NAME)[0] == _flat(groups[:3] + groups[4:])


def test_a_cut_that_removes_a_whole_frame_is_no_damage():
    # Nothing to tell it from a log that never had that frame.
    groups, bounds = _build()
    data = _log_path().read_bytes()
    _rewrite(_log_path(), data[: bounds[2][0]] + data[bounds[2][1] :])
    assert "has no damage" in _salvage_cli()
    assert state.records(NAME)[0] == _flat(groups[:2] + groups[3:])


def test_a_huge_length_does_not_pass_for_a_torn_tail():
    # A cut inside a big frame leaves a sound header that says the frame runs
    # past the end of the file: readers take it for a torn tail, but salvage
    # finds the frames after it.
    state.append(NAME, "first")
    start = _log_path().stat().st_size
    big = state.append(NAME, "b" * 100_000).offset
    state.append(NAME, "after1")
    state.append(NAME, "after2")
    data = _log_path().read_bytes()
    _rewrite(_log_path(), data[: start + 1000] + data[big - 10 :])
    assert state.records(NAME)[0] == ["first"]
    text = _salvage_cli()
    assert "kept before the damage: 1 frame, 1 record" in text
    assert "recovered after it:     2 frames, 2 records" in text
    assert "runs past the end of the file" in text
    assert state.records(NAME)[0] == ["first", "after1", "after2"]


def test_damage_in_the_very_first_frame():
    groups, bounds = _build(4)
    _flip(_log_path(), bounds[0][0] + 2)
    text = _salvage_cli()
    assert "kept before the damage: 0 frames, 0 records" in text
    assert "recovered after it:     3 frames, 6 records" in text
    assert f"lost bytes {HEADER}-{bounds[1][0]}" in text
    assert state.records(NAME)[0] == _flat(groups[1:])


def test_damage_in_the_file_header_keeps_every_frame():
    groups, _ = _build(4)
    _flip(_log_path(), 10)
    with pytest.raises(state.CorruptState) as info:
        state.records(NAME)
    assert info.value.offset == 0
    text = _salvage_cli()
    assert "lost bytes 0-20 (20 bytes): file header fails its checksum" in text
    assert "recovered after it:     4 frames, 7 records" in text
    assert state.records(NAME)[0] == _flat(groups)


def test_garbage_between_frames():
    groups, bounds = _build()
    data = _log_path().read_bytes()
    junk = b"\x00\x01garbage" * 7 + bytes(9)
    at = bounds[3][0]
    _rewrite(_log_path(), data[:at] + junk + data[at:])
    text = _salvage_cli()
    assert f"lost bytes {at}-{at + len(junk)} ({len(junk)} bytes): frame header fails its checksum" in text
    assert state.records(NAME)[0] == _flat(groups)
    assert _asides()[0].read_bytes() == data[:at] + junk + data[at:]


def test_everything_after_the_damage_unreadable():
    groups, bounds = _build(4)
    data = _log_path().read_bytes()
    _rewrite(_log_path(), data[: bounds[2][0]] + os.urandom(500))
    text = _salvage_cli()
    assert "kept before the damage: 2 frames, 3 records" in text
    assert "recovered after it:     0 frames, 0 records" in text
    assert f"lost bytes {bounds[2][0]}-{bounds[2][0] + 500}" in text
    assert state.records(NAME)[0] == _flat(groups[:2])


def test_a_clean_log_is_left_as_it_is():
    groups, _ = _build(3)
    before = _log_path().stat()
    data = _log_path().read_bytes()
    text = _salvage_cli()
    assert text == (
        f"the log of {NAME} has no damage (3 frames, 6 records, {len(data)} bytes); nothing changed\n"
    )
    after = _log_path().stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_nlink) == (before.st_ino, before.st_mtime_ns, 1)
    assert _log_path().read_bytes() == data
    assert _asides() == []


def test_a_torn_tail_is_no_damage_and_is_left_for_the_next_append():
    groups, _ = _build(3)
    os.truncate(_log_path(), _log_path().stat().st_size - 4)
    data = _log_path().read_bytes()
    text = _salvage_cli()
    assert "has no damage (2 frames" in text and "torn frame that the next append cuts" in text
    assert _log_path().read_bytes() == data and _asides() == []


def test_the_corrupt_state_error_names_the_salvage_command():
    groups, bounds = _build(3)
    _flip(_log_path(), bounds[1][1] - 2)
    with pytest.raises(state.CorruptState) as info:
        state.records(NAME)
    message = str(info.value)
    assert "\n" not in message
    command = message.split("recover every readable record with: ")[1]
    assert command == f"python -m slurm_search.state salvage {NAME}"
    out = _cli(*command.split()[3:])
    assert out.returncode == 0 and "salvaged the log" in out.stdout, out.stderr
    assert state.records(NAME)[0] == _flat(groups[:1] + groups[2:])


def test_in_process_salvage_forgets_the_verified_end():
    groups, bounds = _build(4)
    assert str(_log_path()) in _log._verified
    _flip(_log_path(), bounds[1][1] - 1)
    with pytest.raises(state.CorruptState):
        state.records(NAME)
    report = _salvage.salvage(NAME)
    assert report.plan.damaged and report.aside is not None
    assert str(_log_path()) not in _log._verified
    state.append(NAME, "after")
    assert state.records(NAME)[0] == _flat(groups[:1] + groups[2:]) + ["after"]


def test_user_errors_are_one_line_and_exit_1():
    for args, words in [
        (("salvage", "a:b:c"), "invalid state name"),
        (("salvage", "../etc:passwd"), "invalid state name"),
        (("salvage", "search:none"), "has no log"),
    ]:
        out = _cli(*args)
        assert out.returncode == 1, out
        assert out.stderr.count("\n") == 1 and words in out.stderr, out.stderr
        assert out.stdout == "" and "Traceback" not in out.stderr


def test_salvage_waits_for_the_lock():
    groups, bounds = _build(3)
    _flip(_log_path(), bounds[1][0] + 1)
    data = _log_path().read_bytes()
    holder = state_workers.run("hold", NAME, stdin=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "held"
        out = _cli("salvage", NAME, "--timeout", "0.3")
        assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
        assert _log_path().read_bytes() == data and _asides() == []
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    _salvage_cli()
    assert state.records(NAME)[0] == _flat(groups[:1] + groups[2:])


@pytest.mark.parametrize("at", ["atomic_write", "fsync_dir"])
def test_a_crash_half_way_leaves_the_damaged_log_or_the_new_one_and_the_copy(at):
    # SIGKILL the salvaging process just before it replaces the log (or
    # just after the copy aside, before the folder is synced).
    groups, bounds = _build(4)
    _flip(_log_path(), bounds[2][0] + 3)
    damaged = _log_path().read_bytes()
    script = textwrap.dedent(f"""
        import os, signal
        from slurm_search.state import _salvage
        def crash(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        _salvage.{at} = crash
        _salvage.salvage({NAME!r})
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert out.returncode == -signal.SIGKILL
    assert _log_path().read_bytes() == damaged
    [aside] = _asides()
    assert aside.read_bytes() == damaged
    # Running it again finishes the job; the first copy stays.
    _salvage_cli()
    assert len(_asides()) == 2 and all(a.read_bytes() == damaged for a in _asides())
    assert state.records(NAME)[0] == _flat(groups[:2] + groups[3:])


def test_a_record_whose_code_is_missing_stops_salvage(tmp_path):
    # A module the records need, importable while they are written but not
    # when salvage runs: salvage must not take them for damage.
    (tmp_path / "gone_module.py").write_text("class Trial:\n    def __init__(self, n):\n        self.n = n\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    script = (
        "from slurm_search import state; import gone_module\n"
        f"state.append({NAME!r}, 'a')\n"
        f"state.append({NAME!r}, 'b' * 50)\n"
        f"state.append({NAME!r}, gone_module.Trial(3))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    _flip(_log_path(), HEADER + 2)
    damaged = _log_path().read_bytes()
    out = _cli("salvage", NAME)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "need code that is not installed" in out.stderr, out.stderr
    assert "gone_module" in out.stderr
    assert _log_path().read_bytes() == damaged and _asides() == []
    out = _cli("salvage", NAME, env=env)
    assert out.returncode == 0, out.stderr
    assert "recovered after it:     2 frames, 2 records" in out.stdout


# The pure scanner ---------------------------------------------------------

def _frame(i, recs):
    # The frame's index at both ends of its records, so no two frames share
    # their first or last bytes (a cut between twins would be a clean cut).
    return _frames.frame(pickle.dumps((i, *recs, i), protocol=5))


record = st.one_of(st.integers(), st.text(max_size=20), st.binary(max_size=60), st.none())
groups = st.lists(st.lists(record, max_size=4), min_size=1, max_size=8)
def zeros(min_size):
    return st.integers(min_size, 40).map(bytes)


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _file(gs):
    frames = [_frame(i, g) for i, g in enumerate(gs)]
    bounds, pos = [], HEADER
    for f in frames:
        bounds.append((pos, pos + len(f)))
        pos += len(f)
    return _frames.file_header(99) + b"".join(frames), frames, bounds


def _kept_bytes(buf, plan):
    return [buf[f.start : f.end] for f in plan.frames]


def _agrees_with_readers(buf, plan):
    """A damaged log for readers is damaged for salvage, at the same offset;
    a log clean for salvage reads the same frames."""
    try:
        found = _frames.scan(buf[HEADER:])
    except _frames.Damage as err:
        assert plan.damaged and plan.skipped[0].start == HEADER + err.offset
        return
    if not plan.damaged:
        assert [(f.start + _frames.FRAME_HEADER_SIZE, f.end) for f in plan.frames] == [
            (a + HEADER, b + HEADER) for a, b in found.payloads
        ]
        assert (plan.torn is None) == (found.torn is None)


def _covers(buf, plan):
    """Kept frames and skipped ranges tile the file after its header."""
    pieces = sorted([(f.start, f.end) for f in plan.frames] + [(s.start, s.end) for s in plan.skipped])
    pos = HEADER if plan.epoch is not None else 0
    for a, b in pieces:
        assert a == pos
        pos = b
    assert pos == len(buf) or plan.torn is not None


@FAST
@given(groups)
def test_scanner_keeps_every_frame_of_a_clean_log(gs):
    buf, frames, _ = _file(gs)
    plan = _salvage.find_frames(buf)
    assert not plan.damaged and plan.torn is None and plan.epoch == 99
    assert _kept_bytes(buf, plan) == frames
    assert plan.records_before == sum(len(g) + 2 for g in gs) and plan.records_after == 0


@FAST
@given(groups, st.data())
def test_scanner_after_a_flipped_byte(gs, data):
    buf, frames, bounds = _file(gs)
    k = data.draw(st.integers(0, len(frames) - 1), label="frame")
    at = data.draw(st.integers(bounds[k][0], bounds[k][1] - 1), label="offset")
    mask = data.draw(st.integers(1, 255), label="mask")
    bad = bytearray(buf)
    bad[at] ^= mask
    bad = bytes(bad)
    plan = _salvage.find_frames(bad)
    _agrees_with_readers(bad, plan)
    _covers(bad, plan)
    assert _kept_bytes(bad, plan) == frames[:k] + frames[k + 1 :]
    if k == len(frames) - 1 and at == len(buf) - 1:
        # A last frame whose final byte is not the pickle's STOP (b"."): its
        # end was never written, as after a crash: a torn tail, not damage.
        assert not plan.damaged and plan.torn is not None
    else:
        assert [(s.start, s.end) for s in plan.skipped] == [bounds[k]]
        assert plan.before == k


@FAST
@given(groups, st.data())
def test_scanner_after_a_cut(gs, data):
    buf, frames, bounds = _file(gs)
    a = data.draw(st.integers(HEADER, len(buf) - 1), label="a")
    b = data.draw(st.integers(a + 1, len(buf)), label="b")
    cut = buf[:a] + buf[b:]
    plan = _salvage.find_frames(cut)
    _agrees_with_readers(cut, plan)
    _covers(cut, plan)
    kept = _kept_bytes(cut, plan)
    # Nothing made up: every kept frame is an original one, in order.
    indices = [frames.index(f) for f in kept]
    assert indices == sorted(set(indices))
    # Nothing lost that the cut left whole.
    whole = [i for i, (s, e) in enumerate(bounds) if e <= a or s >= b]
    assert set(whole) <= set(indices)


@FAST
@given(groups, st.data())
def test_scanner_after_garbage_between_frames(gs, data):
    buf, frames, bounds = _file(gs)
    k = data.draw(st.integers(0, len(frames) - 1), label="before frame")
    junk = data.draw(st.binary(min_size=1, max_size=80) | zeros(1), label="junk")
    at = bounds[k][0]
    bad = buf[:at] + junk + buf[at:]
    plan = _salvage.find_frames(bad)
    _agrees_with_readers(bad, plan)
    _covers(bad, plan)
    assert _kept_bytes(bad, plan) == frames
    assert [(s.start, s.end) for s in plan.skipped] == [(at, at + len(junk))]
    assert plan.before == k


@FAST
@given(groups, st.binary(min_size=1, max_size=HEADER + 10))
def test_scanner_after_a_damaged_file_header(gs, head):
    buf, frames, bounds = _file(gs)
    bad = head + buf[HEADER:]
    if bad[:HEADER] == buf[:HEADER]:
        return
    plan = _salvage.find_frames(bad)
    _covers(bad, plan)
    assert plan.epoch is None and plan.damaged and plan.before == 0
    assert _kept_bytes(bad, plan) == frames
    assert [(s.start, s.end) for s in plan.skipped] == [(0, len(head))]


junk = st.binary(max_size=40) | zeros(0)


@FAST
@given(st.lists(st.one_of(junk, groups.map(lambda gs: _frame(0, gs[0]))), max_size=8), st.data())
def test_next_frame_agrees_with_trying_every_offset(parts, data):
    buf = b"".join(parts)
    start = data.draw(st.integers(0, len(buf)), label="start")
    naive = None
    for pos in range(start, len(buf)):
        found = _salvage.check_frame(buf, pos)
        if isinstance(found, _salvage.Kept):
            naive = found
            break
    assert _salvage.next_frame(buf, start) == naive


def test_scanner_needs_frames_to_unpickle_to_a_tuple():
    good = [_frames.frame(pickle.dumps(("a",))), _frames.frame(pickle.dumps(("b",)))]
    not_pickle = _frames.frame(b"not a pickle")
    not_tuple = _frames.frame(pickle.dumps(["a list"]))
    buf = _frames.file_header(1) + good[0] + not_pickle + not_tuple + good[1]
    plan = _salvage.find_frames(buf)
    assert [buf[f.start : f.end] for f in plan.frames] == good
    reasons = [s.reason for s in plan.skipped]
    assert len(reasons) == 1 and reasons[0].startswith("frame does not unpickle")
    assert plan.skipped[0].end - plan.skipped[0].start == len(not_pickle) + len(not_tuple)


def test_scanner_reports_missing_code_instead_of_damage():
    def loads(payload):
        raise ModuleNotFoundError("No module named 'gone'")

    buf = _frames.file_header(1) + _frames.frame(pickle.dumps(("a",)))
    with pytest.raises(_salvage.MissingCode) as info:
        _salvage.find_frames(buf, loads)
    assert info.value.offset == HEADER


def test_scanner_trusts_a_sound_header_over_a_frame_inside_the_payload():
    # A record holding the bytes of a frame: when its own frame fails its
    # checksum, the walk goes on where that frame's sound header says it
    # ends, not at the frame-like bytes inside it.
    inner = _frames.frame(pickle.dumps(("inner",)))
    frames = [_frame(0, ["a"]), _frame(1, [inner, "pad"]), _frame(2, ["c"])]
    buf = bytearray(_frames.file_header(1) + b"".join(frames))
    end_of_1 = HEADER + len(frames[0]) + len(frames[1])
    buf[end_of_1 - 1] ^= 1
    plan = _salvage.find_frames(bytes(buf))
    assert _kept_bytes(bytes(buf), plan) == [frames[0], frames[2]]
    assert [(s.start, s.end) for s in plan.skipped] == [(HEADER + len(frames[0]), end_of_1)]


def test_without_hard_links_the_damaged_file_is_copied_aside(monkeypatch):
    groups, bounds = _build(3)
    _flip(_log_path(), bounds[1][0] + 20)
    damaged = _log_path().read_bytes()
    link = os.link

    def no_links(src, dst, *args, **kwargs):
        if ".damaged." in os.fspath(dst):
            raise OSError(errno.EPERM, "Operation not permitted")
        return link(src, dst, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, "link", no_links)
        report = _salvage.salvage(NAME)
    assert report.aside == _asides()[0]
    assert report.aside.read_bytes() == damaged
    assert report.aside.stat().st_mode & 0o777 == 0o600
    assert report.aside.stat().st_ino != _log_path().stat().st_ino
    assert state.records(NAME)[0] == _flat(groups[:1] + groups[2:])
    assert not [e for e in os.listdir(state.paths(NAME).dir) if ".tmp." in e]
