"""Trial checkpoints, suspension and workers told to leave: real worker processes, real signals, kill -9.

Each test runs `checkpoint_objectives.stepper` (a deterministic "training"
that logs every step it executes) in real `ssearch work_on` processes or
inline, interrupts it for real (SIGTERM, SIGUSR1, kill -9, SIGSTOP) and
checks that the trial continues from its checkpoint: the same result as an
uninterrupted run, one learning curve, and little work done twice.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _session_helpers import worker_env
from checkpoint_objectives import expected
from hyperopt import hp

from slurm_search import session
from slurm_search import state as store
from slurm_search.session import _events

SSEARCH = str(Path(sys.executable).with_name("ssearch"))
SPACE = {"x": hp.uniform("x", 0.5, 1.5)}


@pytest.fixture(autouse=True)
def _not_leaving():
    # A request to leave is process-wide (a signal is): forget the inline tests' ones.
    yield
    session.reset_leave()


def _create(objective: str, context: dict, **settings) -> str:
    settings.setdefault("max_evals", 1)
    settings.setdefault("seed", 3)
    return session.create_session(f"checkpoint_objectives:{objective}", SPACE, context=context, **settings)


def _worker(name: str, worker_id: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [SSEARCH, "-v", "work_on", name, "--worker-id", worker_id],
        env={**worker_env(), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _steps(log: Path) -> list[tuple[int, int, int, int]]:
    if not log.exists():
        return []
    return [tuple(int(v) for v in line.split()) for line in log.read_text().splitlines()]


def _wait_for(condition, timeout: float = 60.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _events_of(name: str, kind: type) -> list:
    return [r for r in store.records(name)[0] if isinstance(r, kind)]


def _trial(name: str, tid: int = 0):
    from slurm_search.session._view import View

    return View(name).refresh().trials[tid]


def test_sigterm_hands_the_trial_back_at_once_and_the_next_worker_continues_it(tmp_path):
    log = tmp_path / "steps.log"
    steps = 30
    # max_attempts=1: a cut that used up an attempt would fail the trial; a
    # lease of 10 minutes: a trial handed back only by its lease would not be
    # claimable within this test.
    name = _create("stepper", {"steps": steps, "sleep": 0.05, "log": str(log)}, max_attempts=1, lease_seconds=600)
    first = _worker(name, "w1")
    _wait_for(lambda: len(_steps(log)) >= 8, what="eight steps")
    cut_at = time.monotonic()
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0, first.stderr.read()
    assert "asked to leave (SIGTERM" in first.stderr.read()
    progress = session.progress(name)
    assert (progress.running, progress.waiting, progress.failed) == (0, 1, 0)
    assert time.monotonic() - cut_at < 10  # handed back at once, not after the lease
    [suspend] = _events_of(name, _events.Suspend)
    assert suspend.worker == "w1" and "SIGTERM" in suspend.reason

    shown = subprocess.run([SSEARCH, "show", name], env=worker_env(), capture_output=True, text=True, check=True)
    assert "checkpoints: 2 of 1 trials" in shown.stdout  # the newest 2 are kept

    second = _worker(name, "w2")
    assert second.wait(timeout=120) == 0, second.stderr.read()
    [result] = session.results(name)
    assert result.loss == pytest.approx(expected(result.params["x"], steps))
    executed = [step for _, _, _, step in _steps(log)]
    # Checkpointed every step and on the signal: no step ran twice.
    assert sorted(executed) == list(range(steps))
    assert {attempt for _, _, attempt, _ in _steps(log)} == {1, 2}
    # One learning curve, from both attempts.
    assert sorted(session.trial_reports(name)[0]) == list(range(steps))
    # The trial ended: its checkpoints are gone.
    assert session.checkpoint_stats(name).checkpoints == 0


def test_kill_9_is_taken_over_from_the_checkpoint_without_using_an_attempt(tmp_path):
    log = tmp_path / "steps.log"
    steps, every = 40, 5
    name = _create(
        "stepper", {"steps": steps, "every": every, "sleep": 0.05, "log": str(log)},
        max_attempts=1, lease_seconds=2.0,
    )
    victim = _worker(name, "victim")
    _wait_for(lambda: len(_steps(log)) >= 17, what="seventeen steps")
    victim.kill()
    victim.wait()
    killed_after = len(_steps(log))
    taker = _worker(name, "taker")
    assert taker.wait(timeout=120) == 0, taker.stderr.read()
    [result] = session.results(name)
    assert result.loss == pytest.approx(expected(result.params["x"], steps))
    trial = _trial(name)
    assert (trial.status, trial.attempt, trial.owner) == ("ok", 2, "taker")
    runs = _steps(log)
    resumed_at = min(step for _, _, attempt, step in runs if attempt == 2)
    assert resumed_at > 0 and resumed_at % every == 0  # from the newest checkpoint, not from 0
    redone = len(runs) - steps
    assert 0 <= redone <= every  # at most one checkpoint interval
    assert killed_after - resumed_at == redone
    assert sorted(session.trial_reports(name)[0]) == list(range(steps))


def test_a_cut_with_nothing_saved_still_uses_an_attempt(tmp_path, monkeypatch):
    log = tmp_path / "steps.log"
    name = _create("never_looks", {"sleep": 60, "log": str(log)}, max_attempts=1, lease_seconds=600)
    worker = _worker(name, "w1", env={"SLURM_SEARCH_LEAVE_GRACE": "0.5"})
    _wait_for(lambda: _steps(log), what="the objective to start")
    worker.send_signal(signal.SIGUSR1)
    # It never looks at should_stop(): the worker hands the trial back itself
    # after the grace, and ends.
    assert worker.wait(timeout=30) == 0
    progress = session.progress(name)
    assert progress.failed == 1 and progress.running == 0
    assert "no checkpoint saved" in progress.last_traceback
    [suspend] = _events_of(name, _events.Suspend)
    assert "did not suspend within 0.5 s" in suspend.reason


def test_an_objective_that_never_looks_is_handed_back_after_the_grace(tmp_path):
    log = tmp_path / "steps.log"
    name = _create("never_looks", {"sleep": 60, "log": str(log)}, max_attempts=2, lease_seconds=600)
    worker = _worker(name, "w1", env={"SLURM_SEARCH_LEAVE_GRACE": "0.5"})
    _wait_for(lambda: _steps(log), what="the objective to start")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    progress = session.progress(name)
    assert (progress.waiting, progress.running, progress.failed) == (1, 0, 0)


def test_a_stale_holder_cannot_write_a_checkpoint(tmp_path):
    log, lost = tmp_path / "steps.log", tmp_path / "lost"
    steps = 60
    name = _create(
        "stepper", {"steps": steps, "every": 1, "sleep": 0.05, "log": str(log), "lost": str(lost)},
        lease_seconds=1.5,
    )
    holder = _worker(name, "holder")
    _wait_for(lambda: len(_steps(log)) >= 5, what="five steps")
    holder.send_signal(signal.SIGSTOP)
    try:
        taker = _worker(name, "taker")
        _wait_for(lambda: _trial(name).owner == "taker", what="the take-over")
        _wait_for(lambda: _trial(name).checkpoint[0] == 2, what="the taker's first checkpoint")
    finally:
        holder.send_signal(signal.SIGCONT)
    _wait_for(lost.exists, what="the stale holder to meet LeaseLost")
    assert taker.wait(timeout=120) == 0
    holder.wait(timeout=60)
    checkpoints = _events_of(name, _events.Checkpoint)
    claims = _events_of(name, _events.Claim)
    took_over = next(i for i, c in enumerate(store.records(name)[0]) if isinstance(c, _events.Claim) and c.attempt == 2)
    later = [r for r in store.records(name)[0][took_over:] if isinstance(r, _events.Checkpoint)]
    # After the take-over, every checkpoint is the taker's: the holder's write was refused.
    assert later and all(c.worker == "taker" and c.attempt == 2 for c in later)
    assert [c.worker for c in claims] == ["holder", "taker"]
    assert [c.seq for c in checkpoints] == list(range(1, len(checkpoints) + 1))
    [result] = session.results(name)
    assert result.loss == pytest.approx(expected(result.params["x"], steps))


def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(caplog):
    name = _create("two_then_suspend", {})
    session.work_on(name)  # the first call saves two checkpoints, then suspends
    session.reset_leave()
    assert session.progress(name).waiting == 1
    folder = store.paths(name).dir / "checkpoints"
    [trial_dir] = folder.iterdir()
    newest = trial_dir / "00000002.ckpt"
    data = bytearray(newest.read_bytes())
    data[-3] ^= 0xFF
    newest.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        session.work_on(name)
    [result] = session.results(name)
    assert result.loss == 1.0  # resumed from checkpoint 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("checkpoint 2 is not usable" in w and "checksum" in w for w in warnings)
    assert any("resumes from checkpoint 1" in w for w in warnings)


def test_checkpoint_mistakes_are_one_line_errors_and_the_trial_goes_on():
    name = _create("misuses", {}, checkpoints={"max_bytes": 1000})
    session.work_on(name)
    [result] = session.results(name)
    seen = result.result["seen"]
    assert "does not pickle" in seen["unpicklable"]
    assert "more than the session's checkpoints:max_bytes (1000)" in seen["too_big"]
    assert "not a whole number >= 0" in seen["bad_step"]
    assert seen["kept"] == 1
    assert all("\n" not in text for text in seen.values() if isinstance(text, str))


def test_outside_a_trial_checkpoints_and_suspend_raise_not_in_trial():
    for call in (lambda: session.save_checkpoint(1), session.load_checkpoint, session.suspend):
        with pytest.raises(session.NotInTrial) as info:
            call()
        assert "outside a trial" in str(info.value)


def test_checkpoint_options_are_checked_before_anything_is_stored():
    for bad in ({"keep": 0}, {"keep": True}, {"keep_finished": "yes"}, {"max_bytes": -1}, {"bogus": 1}, [1]):
        with pytest.raises(session.InvalidSetting):
            _create("stepper", {}, checkpoints=bad)
    assert session.list_sessions(all=True) == []


def test_a_checkpoint_folder_is_written_in_place_and_verified_on_load():
    name = _create("folder_form", {})
    session.work_on(name)
    [trial_dir] = (store.paths(name).dir / "checkpoints").iterdir()
    [published] = list(trial_dir.iterdir())
    assert published.name == "00000001.dir"
    assert (published / "MANIFEST").read_text().count("\n") == 3  # the head and two files
    session.reset_leave()
    session.work_on(name)
    [result] = session.results(name)
    assert result.result["read"] == "w" * 10 and result.result["is_dir"]


def test_a_damaged_folder_checkpoint_is_never_loaded(caplog):
    name = _create("folder_form", {})
    session.work_on(name)
    [trial_dir] = (store.paths(name).dir / "checkpoints").iterdir()
    (trial_dir / "00000001.dir" / "sub" / "opt.bin").write_bytes(b"O" * 7)  # same size, other bytes
    session.reset_leave()
    with caplog.at_level(logging.WARNING):
        session.work_on(name)
    # Its only checkpoint is damaged: it starts afresh (saves again and suspends).
    assert any("sub/opt.bin does not match its checksum" in r.getMessage() for r in caplog.records)
    assert session.results(name) == []
    assert session.progress(name).waiting == 1


def test_the_newest_k_are_kept_and_a_session_may_keep_them_after_the_trial(tmp_path):
    name = _create("stepper", {"steps": 6, "sleep": 0}, checkpoints={"keep": 3, "keep_finished": True})
    session.work_on(name)
    [trial_dir] = (store.paths(name).dir / "checkpoints").iterdir()
    assert sorted(p.name for p in trial_dir.iterdir()) == ["00000004.ckpt", "00000005.ckpt", "00000006.ckpt"]
    assert session.checkpoint_stats(name).checkpoints == 3


def test_a_full_store_refuses_the_checkpoint_and_the_trial_goes_on(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)], check=True)
    try:
        monkeypatch.setenv("SLURM_SEARCH_HOME", str(mount / "store"))
        name = session.create_session(
            "checkpoint_objectives:full_store", SPACE, max_evals=1, seed=1, context={"size": 4 << 20}
        )
        session.work_on(name)
        [result] = session.results(name)
        assert "the store is full" in result.result["error"] and "\n" not in result.result["error"]
        assert result.result["after"] == 1  # a small one still went in
        leftovers = [p for p in (mount / "store").rglob("*") if store.is_staged(p)]
        assert leftovers == []
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
