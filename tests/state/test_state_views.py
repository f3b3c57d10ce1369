"""The store across two "hosts": two FUSE views of one folder (tests/fs_views.py).

Whatever the views' locks do (coherent, node-local, node-local with
attribute caching, flock refused with ENOSYS), the default settings never
lose an update: every count is exact, or every process is refused before
its first write with a message. Never a shortfall with exit status 0.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import fs_views
import pytest

from slurm_search import locking, state

WORKERS = Path(__file__).with_name("state_workers.py")
EACH = 150
DEADLINE = 600  # generous bound for a busy machine, not a timing assertion


def _spawn(home: Path, *args: str, wrap=(), **env: str) -> subprocess.Popen:
    environ = dict(os.environ, SLURM_SEARCH_HOME=str(home), **env)
    return subprocess.Popen(
        [*wrap, sys.executable, str(WORKERS), *args],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(procs):
    return [(p.wait(timeout=DEADLINE), p.stdout.read(), p.stderr.read()) for p in procs]


def _use(home: Path, monkeypatch, **env: str) -> None:
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(home))
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def _check_log(recs, tags):
    seen = collections.defaultdict(list)
    for tag, i, _pad in recs:
        seen[tag].append(i)
    assert sorted(seen) == sorted(tags)
    for tag in tags:
        assert seen[tag] == list(range(EACH)), tag  # each once, in order


@pytest.mark.parametrize("kind", fs_views.KINDS)
def test_counter_across_two_views_is_exact(kind, tmp_path, monkeypatch):
    with fs_views.mounted(tmp_path, kind) as (a, b):
        _use(a / "store", monkeypatch)
        state.create("exp:counter", {"n": 0})
        homes = [a / "store", a / "store", b / "store", b / "store"]
        results = _finish([_spawn(h, "incr", "exp:counter", str(EACH)) for h in homes])
        assert [rc for rc, _, _ in results] == [0] * 4, results
        _use(b / "store", monkeypatch)
        assert state.read("exp:counter") == {"n": 4 * EACH}
        # FUSE views are not known to forward flock: the store leases instead.
        assert locking.store_mode().mode == "soft"


@pytest.mark.parametrize("kind", fs_views.KINDS)
def test_log_across_two_views_is_exact(kind, tmp_path, monkeypatch):
    with fs_views.mounted(tmp_path, kind) as (a, b):
        homes = {"a1": a, "a2": a, "b1": b, "b2": b}
        results = _finish(
            [_spawn(v / "store", "append", "exp:log", str(EACH), tag) for tag, v in homes.items()]
        )
        assert [rc for rc, _, _ in results] == [0] * 4, results
        assert not any("torn" in err for _, _, err in results)  # nothing cut from a live writer
        _use(a / "store", monkeypatch)
        _check_log(state.records("exp:log")[0], list(homes))


def test_flock_refused_with_enosys_is_refused_before_any_write(tmp_path, monkeypatch):
    # A store recorded as flock, on a host where flock fails with ENOSYS:
    # every process stops before its first write, with the message.
    fs_views.require()
    home = tmp_path / "store"
    _use(home, monkeypatch, SLURM_SEARCH_LOCK="flock")
    state.create("exp:counter", {"n": 0})
    procs = [
        _spawn(home, "incr", "exp:counter", str(EACH), wrap=fs_views.ENOSYS_FLOCK, SLURM_SEARCH_LOCK="flock")
        for _ in range(4)
    ]
    for rc, _, err in _finish(procs):
        assert rc != 0
        assert "cannot lock" in err and "Function not implemented" in err
        assert "--set-lock-mode soft" in err
    assert state.read("exp:counter") == {"n": 0}


def test_auto_mode_leases_where_flock_fails_with_enosys(tmp_path, monkeypatch):
    # A local disk (where auto would choose flock) whose flock fails: the
    # first process finds out, records soft, and every process counts exactly.
    fs_views.require()
    home = tmp_path / "store"
    first = _spawn(home, "create_counter", "exp:counter", wrap=fs_views.ENOSYS_FLOCK)
    assert first.wait(timeout=DEADLINE) == 0, first.stderr.read()
    _use(home, monkeypatch)
    decision = locking.store_mode()
    assert decision.mode == "soft" and "flock fails here" in decision.reason
    results = _finish(
        [_spawn(home, "incr", "exp:counter", str(EACH), wrap=fs_views.ENOSYS_FLOCK) for _ in range(4)]
    )
    assert [rc for rc, _, _ in results] == [0] * 4, results
    assert state.read("exp:counter") == {"n": 4 * EACH}


def test_a_paused_soft_lock_holder_commits_nothing(tmp_path, monkeypatch):
    # Holders stopped (SIGSTOP) past the grace period lose their lock to a
    # waiter; resumed (SIGCONT), their write is refused by the fence and
    # retried. Every increment a worker counts as done is in the store.
    home = tmp_path / "store"
    env = {"SLURM_SEARCH_LOCK": "soft", "SLURM_SEARCH_LOCK_GRACE": "0.5"}
    _use(home, monkeypatch, **env)
    state.create("exp:counter", {"n": 0})
    each = 600
    procs = [_spawn(home, "incr_fenced", "exp:counter", str(each), "0.01", **env) for _ in range(3)]
    by_pid = {p.pid: p for p in procs}
    lock_file = home / "locks" / "exp:counter.softlock"
    stopped = 0
    while stopped < 6 and all(p.poll() is None for p in procs):
        try:
            pid = int(lock_file.read_text().split()[1])  # the holder, from its lease file
        except (FileNotFoundError, IndexError, ValueError):
            continue
        if pid not in by_pid:
            continue
        os.kill(pid, signal.SIGSTOP)
        time.sleep(1.5)  # well past the grace period: a waiter breaks the lock
        os.kill(pid, signal.SIGCONT)
        stopped += 1
        time.sleep(0.2)
    assert stopped == 6
    results = _finish(procs)
    assert [rc for rc, _, _ in results] == [0] * 3, results
    done = [tuple(int(x) for x in out.split()[1::2]) for _, out, _ in results]
    assert state.read("exp:counter") == {"n": sum(d for d, _ in done)} == {"n": 3 * each}
    assert sum(r for _, r in done) >= 1  # the fence did refuse a resumed holder's write


def test_temporary_names_are_unique_per_host_process_and_call(tmp_path):
    from slurm_search.state import _writes as _files

    target = tmp_path / "session_state.pickle"
    here = {_files.temp_name(target) for _ in range(100)}
    assert len(here) == 100
    child = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; from slurm_search.state import _writes as _files; "
         "print(_files.temp_name(Path(sys.argv[1])))", str(target)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    for name in (*here, child):
        assert name.startswith(str(tmp_path / ".session_state.pickle.tmp."))
    host_pid = {name.rsplit(".", 1)[0] for name in here}
    assert host_pid == {str(tmp_path / f".session_state.pickle.tmp.{_files._HOST}.{os.getpid()}")}
    assert child.rsplit(".", 1)[0] != next(iter(host_pid))  # another process, another name
