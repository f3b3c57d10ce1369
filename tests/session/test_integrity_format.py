"""Issue 21, items 3 and 4, on real stores and the real `ssearch` command.

3. A checkpoint never makes damage invisible: a log cut below its checkpoint,
   or with a byte changed before the checkpoint's position, is reported (one
   line naming salvage, non-zero exit) by show, list and progress, is never
   appended to (restart refuses; the log does not grow), and `ssearch salvage`
   recovers from the checkpoint what the log lost.
4. A session's on-disk format has a version: golden sessions of every format
   read back exactly, and a process refuses, before it claims anything, a
   session of a format it does not speak.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from _cli_helpers import ssearch
from hyperopt import hp

from slurm_search import session, state
from slurm_search.session import _format, _snapshots
from slurm_search.session._events import Created
from slurm_search.session._view import View

GOLDEN = Path(__file__).parent / "data" / "golden"
FORMATS = sorted(GOLDEN.glob("format*"), key=lambda p: int(p.name.removeprefix("format")))


def _done_session() -> tuple[str, Path, dict]:
    """A session of 10 finished trials with a checkpoint at the end of its log."""
    name = session.create_session(
        "session_test_objectives:with_extras", {"x": hp.uniform("x", 0, 1)}, max_evals=10, seed=5
    )
    session.work_on(name, worker_id="w")
    v = View(name)
    v.refresh()
    assert _snapshots.write(v, wait=True)
    assert state.load_checkpoint(name)[1] == state.log_end(name)
    p = session.progress(name)
    return name, state.paths(name).log, {"completed": p.completed, "best": p.best_loss}


def _one_line_naming_salvage(out, name: str) -> None:
    assert out.returncode != 0, out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert f"ssearch salvage {name}" in lines[0], lines[0]


def _refused_everywhere(name: str, log: Path) -> None:
    data = log.read_bytes()
    for command in (["show", name], ["progress", name], ["restart", name, "--no-launch"], ["work_on", name]):
        _one_line_naming_salvage(ssearch(*command), name)
    listed = ssearch("list", "--all", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = [r for r in json.loads(listed.stdout) if r["name"] == name]
    assert row["status"] == "corrupt" and f"ssearch salvage {name}" in row["error"]
    assert log.read_bytes() == data  # nothing was appended after the damage


def _salvaged(name: str, expect: dict, recovered: str) -> None:
    out = ssearch("salvage", name)
    assert out.returncode == 0, out.stderr
    assert "no damage" not in out.stdout and recovered in out.stdout, out.stdout
    shown = ssearch("show", name, "--json")
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["completed"] == expect["completed"] == 10 and info["best"]["loss"] == expect["best"]
    again = ssearch("salvage", name)
    assert again.returncode == 0 and "no damage" in again.stdout
    size = state.paths(name).log.stat().st_size
    assert ssearch("restart", name, "--no-launch").returncode == 0
    assert state.paths(name).log.stat().st_size > size  # a sound log takes appends again


def test_a_log_cut_in_half_under_its_checkpoint_is_damage_and_salvage_recovers_it():
    name, log, expect = _done_session()
    with open(log, "r+b") as f:
        f.truncate(log.stat().st_size // 2)
    _refused_everywhere(name, log)
    _salvaged(name, expect, "recovered from the checkpoint")


def test_a_byte_flipped_before_the_checkpoint_is_damage_and_restart_does_not_append_after_it():
    name, log, expect = _done_session()
    data = bytearray(log.read_bytes())
    data[len(data) // 2] ^= 0x01
    log.write_bytes(bytes(data))
    _refused_everywhere(name, log)
    _salvaged(name, expect, "recovered from the checkpoint")


def test_in_process_readers_and_claims_refuse_a_damaged_log_with_a_checkpoint():
    name, log, _ = _done_session()
    session.restart(name)  # a fresh process would claim again: keep one trial waiting
    data = bytearray(log.read_bytes())
    data[len(data) // 3] ^= 0x01
    log.write_bytes(bytes(data))
    from slurm_search.session._view import forget

    forget(name)
    state._log._verified.clear()  # as a fresh process: nothing verified here
    for call in (session.progress, lambda n: session.next_trial(n, "w2")):
        with pytest.raises(session.CorruptSession, match="salvage"):
            call(name)
    assert log.read_bytes() == bytes(data)


# -- 4. format versions --------------------------------------------------------


def _install(store: Path, home: Path) -> None:
    shutil.copytree(store, home, dirs_exist_ok=True)
    # A checkout does not keep the store's modes; give them back.
    for folder, _dirs, files in os.walk(home):
        os.chmod(folder, 0o700)
        for f in files:
            os.chmod(os.path.join(folder, f), 0o600)


def test_every_format_has_a_golden_session():
    versions = [int(p.name.removeprefix("format")) for p in FORMATS]
    assert versions == sorted(_format.READS) and _format.FORMAT_VERSION in versions


@pytest.mark.parametrize("folder", FORMATS, ids=lambda p: p.name)
def test_a_golden_session_reads_back_exactly(folder, slurm_search_home):
    _install(folder / "store", slurm_search_home)
    expected = json.loads((folder / "expected.json").read_text())
    name = expected["name"]
    version = int(folder.name.removeprefix("format"))
    spec = state.records(name)[0][0].spec
    assert _format.version_of(spec) == version
    p = session.progress(name)
    best = session.best(name)
    got = {
        "status": p.status, "completed": p.completed, "failed": p.failed, "running": p.running,
        "waiting": p.waiting, "pruned": p.pruned, "max_evals": p.max_evals, "best_loss": p.best_loss,
        "best_tid": best.tid, "best_params": best.params, "last_traceback": p.last_traceback,
    }
    assert got == {k: expected[k] for k in got}
    assert {str(r.tid): r.loss for r in session.results(name)} == expected["losses"]
    assert {str(r.tid): r.params for r in session.results(name)} == expected["params"]
    reports = {str(t): {str(s): v for s, v in r.items()} for t, r in session.trial_reports(name).items()}
    assert reports == expected["reports"]
    assert json.loads(json.dumps(session.annotations(name))) == expected["annotations"]
    # The golden checkpoint: of this format it is used (and the log checked
    # against it); of format 1 (no CRC of the log) it is ignored, and the
    # session reads the same by replaying.
    assert (state.load_checkpoint(name) is not None) == (version >= 2)
    # The command line reads it too.
    shown = ssearch("show", name, "--json")
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["completed"] == expected["completed"] and info["best"]["loss"] == expected["best_loss"]
    listed = ssearch("list", "--all", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = [r for r in json.loads(listed.stdout) if r["name"] == name]
    assert row["status"] == "done" and row["completed"] == expected["completed"]
    progress = ssearch("progress", name)
    assert progress.returncode == 0 and str(expected["completed"]) in progress.stdout + progress.stderr
    # And this version goes on writing to it.
    session.annotate(name, "read_by", _format.FORMAT_VERSION)
    assert session.annotations(name)["read_by"] == _format.FORMAT_VERSION


def test_a_new_session_records_the_format_this_code_writes():
    name = session.create_session("session_test_objectives:noop", {"x": hp.uniform("x", 0, 1)}, max_evals=2)
    assert state.records(name)[0][0].spec.format == _format.FORMAT_VERSION == session.FORMAT_VERSION
    assert state.read(name).format == _format.FORMAT_VERSION


def _future_session() -> tuple[str, Path]:
    """A session written by a later version (a format this code does not read)."""
    name = session.create_session("session_test_objectives:noop", {"x": hp.uniform("x", 0, 1)}, max_evals=3)
    future = max(_format.READS) + 1
    spec = state.records(name)[0][0].spec._replace(format=future)
    shutil.rmtree(state.paths(name).dir)
    state.create(name, spec)
    state.append(name, Created(spec))
    return name, state.paths(name).log


def test_a_session_of_a_format_this_code_does_not_read_is_refused_before_any_claim():
    name, log = _future_session()
    size = log.stat().st_size
    future = max(_format.READS) + 1
    for command in (["work_on", name], ["show", name], ["restart", name, "--no-launch"], ["progress", name]):
        out = ssearch(*command)
        assert out.returncode != 0, (command, out.stdout)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
        assert f"format {future}" in lines[0] and f"writes {_format.FORMAT_VERSION}" in lines[0]
        assert "upgrade slurm-search-session" in lines[0]
    from slurm_search.session._view import forget

    forget(name)
    with pytest.raises(session.UnsupportedFormat) as err:
        session.next_trial(name, "w")
    assert err.value.version == future and err.value.writes == _format.FORMAT_VERSION
    with pytest.raises(session.UnsupportedFormat):
        session.work_on(name, worker_id="w")
    assert log.stat().st_size == size  # nothing claimed, nothing written
    listed = ssearch("list", "--all", "--json")
    (row,) = [r for r in json.loads(listed.stdout) if r["name"] == name]
    assert row["status"] == "corrupt" and f"format {future}" in row["error"]


def test_a_checkpoint_of_a_format_this_code_does_not_read_is_ignored():
    name, _, expect = _done_session()
    found = state.load_checkpoint(name)
    value, position, info = found
    state.save_checkpoint(name, value, position, info={**info, "format": max(_format.READS) + 1})
    v = View(name)
    assert not _snapshots.load(v)  # ignored: the log is replayed
    assert session.progress(name).completed == expect["completed"]


def test_damage_after_the_checkpoint_is_salvaged_from_the_log_alone():
    name, log, _ = _done_session()
    session.annotate(name, "after", 1)
    session.annotate(name, "later", 2)
    at = state.load_checkpoint(name)[1].offset
    data = bytearray(log.read_bytes())
    data[at + 30] ^= 0x01  # inside the first record after the checkpoint
    log.write_bytes(bytes(data))
    _refused_everywhere(name, log)
    out = ssearch("salvage", name)
    assert out.returncode == 0, out.stderr
    assert "recovered from the checkpoint" not in out.stdout and "lost bytes" in out.stdout, out.stdout
    notes = session.annotations(name)
    assert "after" not in notes and notes["later"] == 2  # the damaged record is lost, the next one kept
    assert session.progress(name).completed == 10
