"""Leases do not depend on hosts' clocks agreeing: a worker whose clock is
minutes off keeps its trial while it renews it, and loses it a lease after it
dies, as the taker measures.

The skewed worker is a real process running the real worker loop; its wall
clock (`time.time`, which stamps its claims and renewals) is shifted by
minutes, its monotonic clock is left alone, as on a host whose clock is
wrong. libfaketime would be the natural tool, but under it CPython's timed
waits (the lease keeper's `Condition.wait`, `time.sleep`) hang or fail with
EINVAL (measured here with Debian's faketime 0.9.10), so the worker would
never renew at all and the test would prove nothing: the shift is applied
inside the process instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from _session_helpers import worker_env
from hyperopt import hp

from slurm_search import session
from slurm_search.session import NoMoreTrials

LEASE = 2.0


SKEWED = """
import sys, time
real = time.time
shift = float(sys.argv[2])
time.time = lambda: real() + shift
from slurm_search import session
session.work_on(sys.argv[1], worker_id=sys.argv[3])
"""


def _skewed_worker(name, offset):
    seconds = {"-10m": -600.0, "+10m": 600.0}[offset]
    return subprocess.Popen(
        [sys.executable, "-c", SKEWED, name, str(seconds), f"skewed{offset}"],
        env=worker_env(),
        stderr=subprocess.PIPE,
        text=True,
    )


def _session(sleep):
    return session.create_session(
        "session_test_objectives:sleepy", {"x": hp.uniform("x", 0, 1)},
        max_evals=1, seed=1, lease_seconds=LEASE, context={"sleep": sleep},
    )


def _wait_running(name, deadline=120):
    end = time.monotonic() + deadline
    while session.progress(name).running == 0:
        assert time.monotonic() < end, "the worker never claimed"
        time.sleep(0.05)


def test_a_holder_whose_clock_is_behind_keeps_its_trial_while_it_renews():
    # Its leases all end "in the past" by our clock: comparing clocks would
    # take its trial over at once, and again at every renewal.
    name = _session(sleep=4 * LEASE)
    holder = _skewed_worker(name, "-10m")
    try:
        _wait_running(name)
        end = time.monotonic() + 2.5 * LEASE
        while time.monotonic() < end:
            with pytest.raises(NoMoreTrials) as busy:
                session.next_trial(name, "taker")
            assert busy.value.reason == "busy"
            time.sleep(0.1)
        assert holder.wait(timeout=120) == 0, holder.stderr.read()
    finally:
        if holder.poll() is None:
            holder.kill()
    assert [doc["owner"] for doc in session.trial_docs(name)] == ["skewed-10m"]
    assert session.progress(name).completed == 1


def test_a_dead_holder_whose_clock_is_ahead_loses_its_trial_a_lease_later():
    # Its leases end ten minutes from now by our clock: comparing clocks
    # would keep its trial for ten minutes after it died.
    name = _session(sleep=3600)
    holder = _skewed_worker(name, "+10m")
    _wait_running(name)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    died = time.monotonic()
    while True:
        try:
            trial = session.next_trial(name, "taker")
            break
        except NoMoreTrials as busy:
            assert busy.reason == "busy"
            assert time.monotonic() - died < 120, "the dead holder's trial was never taken over"
            time.sleep(0.1)
    waited = time.monotonic() - died
    assert trial.tid == 0 and trial.attempt == 2
    assert waited >= LEASE * 0.9  # the taker saw no renewal for a whole lease first
