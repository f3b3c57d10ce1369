"""Many real processes and threads on one name: no update lost, no record
lost or doubled."""

from __future__ import annotations

import collections
import threading
import time

import state_workers

from slurm_search import state

WORKERS = 8
EACH = 250
DEADLINE = 300  # seconds: generous bound for busy machines, never asserted as a timing


def _wait_all(procs):
    for proc in procs:
        assert proc.wait(timeout=DEADLINE) == 0


def test_processes_never_lose_a_transaction():
    state.create("exp:counter", {"n": 0})
    procs = [state_workers.run("incr", "exp:counter", str(EACH)) for _ in range(WORKERS)]
    _wait_all(procs)
    assert state.read("exp:counter") == {"n": WORKERS * EACH}


def test_threads_never_lose_a_transaction():
    state.create("exp:counter", {"n": 0})
    threads = [
        threading.Thread(target=state_workers.incr, args=("exp:counter", str(EACH)))
        for _ in range(WORKERS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=DEADLINE)
    assert state.read("exp:counter") == {"n": WORKERS * EACH}


def test_threads_in_several_processes():
    state.create("exp:counter", {"n": 0})
    procs = [state_workers.run("incr_threads", "exp:counter", "4", "50") for _ in range(2)]
    _wait_all(procs)
    assert state.read("exp:counter") == {"n": 2 * 4 * 50}


def _check_records(recs, tags, each):
    seen = collections.defaultdict(list)
    for tag, i, _pad in recs:
        seen[tag].append(i)
    assert sorted(seen) == sorted(tags)
    for tag in tags:
        assert seen[tag] == list(range(each)), tag  # each once, in its writer's order


def test_concurrent_appends_each_record_exactly_once_with_a_live_reader():
    tags = [f"w{k}" for k in range(WORKERS)]
    procs = [state_workers.run("append", "search:log", str(EACH), tag) for tag in tags]
    got, pos, reads = [], 0, 0
    deadline = time.monotonic() + DEADLINE
    while len(got) < WORKERS * EACH and time.monotonic() < deadline:
        recs, pos = state.records("search:log", pos)
        got.extend(recs)
        reads += 1
        time.sleep(0.01)
    _wait_all(procs)
    recs, pos = state.records("search:log", pos)
    got.extend(recs)
    assert len(got) == WORKERS * EACH
    _check_records(got, tags, EACH)
    assert state.records("search:log")[0] == got  # one order for every reader
    assert reads > 1


def test_compaction_under_concurrent_appends_loses_nothing():
    tags = [f"w{k}" for k in range(4)]
    each = 200
    procs = [state_workers.run("append", "search:log", str(each), tag) for tag in tags]

    def everything_from(start, known):
        # Rebuild the set of records from a position: a snapshot record
        # stands for every record before it.
        recs, pos = state.records("search:log", start)
        for rec in recs:
            if rec[0] == "snapshot":
                known = set(rec[1])
            else:
                known.add(rec)
        return known, pos

    known, pos = set(), 0
    compactions = restarts = 0
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        running = any(p.poll() is None for p in procs)
        try:
            known, pos = everything_from(pos, known)
        except state.LogCompacted:
            restarts += 1
            known, pos = everything_from(0, set())
        if not running:
            break
        pos = state.compact("search:log", ("snapshot", frozenset(known)), upto=pos)
        compactions += 1
        time.sleep(0.02)
    _wait_all(procs)
    final, _ = everything_from(0, set())
    assert final == known
    assert len(final) == len(tags) * each
    _check_records(sorted(final), tags, each)
    assert compactions > 1


def test_soft_lock_mode_too(monkeypatch):
    # The store on a filesystem without a working flock (SLURM_SEARCH_LOCK=soft).
    monkeypatch.setenv("SLURM_SEARCH_LOCK", "soft")
    state.create("exp:counter", {"n": 0})
    procs = [state_workers.run("incr", "exp:counter", "100") for _ in range(4)]
    tags = [f"w{k}" for k in range(4)]
    procs += [state_workers.run("append", "search:log", "100", tag) for tag in tags]
    _wait_all(procs)
    assert state.read("exp:counter") == {"n": 400}
    _check_records(state.records("search:log")[0], tags, 100)
