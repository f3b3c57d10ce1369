"""A Slurm task's own deadline and Slurm's early warning signal (workers/_slurm.py, `_Deadline`).

Slurm sends `--signal=B:USR1@MARGIN` up to a minute early (measured on the
test cluster: 24 s early for a 1-minute job with @6). A task that knows its
end time must not leave on it while its deadline is still ahead, but must
leave at once when the job's end time moved within the margin or cannot be
read. Real signals to this process; Slurm's answer about the end time is the
one thing stood in for (`job_end_time`).
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from slurm_search import session
from slurm_search.session._leaving import reset_leave
from slurm_search.session.workers import _slurm


@pytest.fixture
def deadline(monkeypatch):
    handed: list[tuple[str, int]] = []
    ends: list[float | None] = []
    monkeypatch.setattr(_slurm, "_hand_over_quietly", lambda name, generation: handed.append((name, generation)))
    monkeypatch.setattr(_slurm, "job_end_time", lambda job_id: ends[-1])
    reset_leave()
    made = []

    def make(end: float, margin: float = 5.0) -> _slurm._Deadline:
        ends.append(end)
        keeper = _slurm._Deadline("search:s", 3, "77", margin, end)
        made.append(keeper)
        return keeper

    yield make, ends, handed
    for keeper in made:
        keeper.stop()
    reset_leave()


def _usr1_then_wait(keeper, seconds: float = 1.5) -> None:
    with keeper.on_warning():
        os.kill(os.getpid(), signal.SIGUSR1)
        end = time.monotonic() + seconds
        while time.monotonic() < end and not session.should_stop():
            time.sleep(0.05)


def test_an_early_warning_signal_does_not_make_the_task_leave_before_its_deadline(deadline):
    make, _ends, handed = deadline
    keeper = make(time.time() + 60)
    _usr1_then_wait(keeper)
    assert not session.should_stop() and handed == []
    assert keeper.deadline == pytest.approx(time.time() + 55, abs=3)


def test_a_warning_after_the_time_limit_was_lowered_makes_the_task_leave_at_once(deadline):
    make, ends, handed = deadline
    keeper = make(time.time() + 600)
    ends.append(time.time() + 4)  # scontrol update TimeLimit=...: now within the margin
    _usr1_then_wait(keeper)
    assert session.should_stop() and handed == [("search:s", 3)]


def test_a_warning_when_the_end_time_cannot_be_read_makes_the_task_leave(deadline):
    make, ends, handed = deadline
    keeper = make(time.time() + 600)
    ends.append(None)
    _usr1_then_wait(keeper)
    assert session.should_stop() and handed == [("search:s", 3)]


def test_a_warning_after_the_time_limit_was_raised_moves_the_deadline(deadline):
    make, ends, handed = deadline
    keeper = make(time.time() + 60)
    ends.append(time.time() + 600)
    _usr1_then_wait(keeper, 1.0)
    assert not session.should_stop() and handed == []
    assert keeper.deadline == pytest.approx(time.time() + 595, abs=3)


def test_the_deadline_itself_makes_the_task_leave_and_hand_over(deadline):
    make, _ends, handed = deadline
    make(time.time() + 5.5, margin=5.0)  # deadline in 0.5 s
    end = time.monotonic() + 5
    while time.monotonic() < end and not handed:
        time.sleep(0.05)
    assert session.should_stop() and handed == [("search:s", 3)]
