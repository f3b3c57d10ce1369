from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slurm_search.locking import (
    InvalidLockName,
    LockReentry,
    LockTimeout,
    NotLocked,
    fence,
    have_lock,
    lock,
    locks_dir,
    needs_lock,
)

WORKER = str(Path(__file__).with_name("_worker.py"))


def start_holder(name: str, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, WORKER, "hold", name, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_threads_exclude_each_other(tmp_path):
    counter = tmp_path / "counter"
    counter.write_text("0")

    def work():
        for _ in range(50):
            with lock("count:threads"):
                value = int(counter.read_text())
                time.sleep(0.0002)
                counter.write_text(str(value + 1))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert int(counter.read_text()) == 400


def test_processes_exclude_each_other(tmp_path):
    counter = tmp_path / "counter"
    counter.write_text("0")
    procs = [
        subprocess.Popen([sys.executable, WORKER, "count", "count:procs", str(counter), "100"])
        for _ in range(4)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0] * 4
    assert int(counter.read_text()) == 400


def test_timeout_names_lock_and_wait():
    holder = start_holder("search:busy", 30)
    try:
        started = time.monotonic()
        with pytest.raises(LockTimeout) as info:
            with lock("search:busy", timeout=0.3):
                pass
        assert time.monotonic() - started >= 0.3
        err = info.value
        assert isinstance(err, TimeoutError)
        assert err.name == "search:busy"
        assert err.waited >= 0.3
        assert "search:busy" in str(err)
    finally:
        holder.kill()
        holder.wait()


def test_other_names_do_not_block():
    holder = start_holder("search:a", 30)
    try:
        with lock("search:b", timeout=5):
            assert have_lock("search:b")
    finally:
        holder.kill()
        holder.wait()


def test_reentry_is_an_error_not_a_deadlock():
    with lock("search:x"):
        assert have_lock("search:x")
        with pytest.raises(LockReentry, match="already holds"):
            with lock("search:x", timeout=None):
                pass
        assert have_lock("search:x")  # the failed attempt did not release it
    assert not have_lock("search:x")
    with lock("search:x", timeout=1):  # and it was released properly
        pass


def test_have_lock_is_per_thread():
    seen = []
    with lock("search:t"):
        thread = threading.Thread(target=lambda: seen.append(have_lock("search:t")))
        thread.start()
        thread.join()
    assert seen == [False]


def test_lock_released_when_body_raises():
    with pytest.raises(KeyError):
        with lock("search:raise"):
            raise KeyError("boom")
    assert not have_lock("search:raise")
    with lock("search:raise", timeout=1):
        pass


def test_needs_lock():
    @needs_lock
    def write(name, value):
        return (name, value)

    with pytest.raises(NotLocked, match=r"with slurm_search.locking.lock\('search:n'\)"):
        write("search:n", 1)
    with lock("search:n"):
        assert write("search:n", 1) == ("search:n", 1)


def test_slow_wait_is_logged(caplog):
    holder = start_holder("search:slow", 0.5)
    try:
        with caplog.at_level(logging.INFO, logger="slurm_search.locking"):
            with lock("search:slow", timeout=30):
                pass
    finally:
        holder.wait()
    messages = [r.getMessage() for r in caplog.records if "search:slow" in r.getMessage()]
    assert messages, caplog.text
    assert "waited" in messages[0]


def test_fast_lock_is_not_logged(caplog):
    with caplog.at_level(logging.INFO, logger="slurm_search.locking"):
        with lock("search:quick"):
            pass
    assert not [r for r in caplog.records if "search:quick" in r.getMessage()]


def test_lock_folder_created_on_demand(slurm_search_home):
    assert not slurm_search_home.exists()
    with lock("exp:demo"):
        pass
    folder = locks_dir()
    assert folder == slurm_search_home / "locks"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(slurm_search_home.stat().st_mode) == 0o700


@pytest.mark.parametrize("name", ["", "../x", "a/b", "a\\b", "..", ".hidden", "x\x00y", 3])
def test_invalid_names(name, slurm_search_home):
    with pytest.raises(InvalidLockName):
        with lock(name):
            pass
    assert not (slurm_search_home / "locks").exists() or not any(
        (slurm_search_home / "locks").iterdir()
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=40))
def test_names_never_escape_the_lock_folder(name):
    try:
        with lock(name, timeout=5):
            files = [p for p in locks_dir().iterdir() if p.name.startswith(name + ".")]
    except InvalidLockName:
        assert "/" in name or "\\" in name or ".." in name or name.startswith(".") or any(
            ord(c) < 32 or ord(c) == 127 for c in name
        ) or len(name.encode()) > 200
        return
    # The lock's file is in the lock folder itself, named after the lock.
    assert [p.parent for p in files] == [locks_dir()]


def test_killed_holder_does_not_block_forever(lock_mode):
    holder = start_holder("search:killed", 600)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    # flock: the kernel frees it at once. soft: broken after the 2 s grace.
    with lock("search:killed", timeout=60):
        waited = time.monotonic() - started
    if lock_mode == "soft":
        assert waited >= 1.0  # the stale file was honoured until it aged


def test_a_forked_child_starts_holding_no_lock():
    # The parent used "a" (its lock file is kept open) and holds "b" while
    # it forks. The child must neither believe it holds "b" nor lock through
    # the parent's open files (a flock belongs to the open file, which the
    # child shares); "b" stays the parent's until the parent lets it go.
    with lock("fork.a"):
        pass
    read, write = os.pipe()
    with lock("fork.b"):
        pid = os.fork()
        if pid == 0:  # the child: report through the pipe, leave with _exit
            os.close(read)
            answer = []
            try:
                answer.append("holds-b" if have_lock("fork.b") else "free")
                with lock("fork.a", timeout=10):
                    answer.append("took-a")
                try:
                    with lock("fork.b", timeout=0.3):
                        answer.append("took-b")
                except LockTimeout:
                    answer.append("b-busy")
            except BaseException as err:  # noqa: BLE001 - reported to the parent
                answer.append(f"error {err!r}")
            os.write(write, " ".join(answer).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
        assert have_lock("fork.b")
    assert answer == "free took-a b-busy"


def test_fence_tells_a_resumed_holder_it_lost_the_lock(lock_mode):
    # The holder is stopped (SIGSTOP) past the 2 s grace period while we wait
    # for the lock, then resumed after we took it.
    holder = subprocess.Popen(
        [sys.executable, WORKER, "fence", "search:fenced", "1"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    os.kill(holder.pid, signal.SIGSTOP)
    try:
        if lock_mode == "soft":
            with lock("search:fenced", timeout=60):  # broken after the grace period
                os.kill(holder.pid, signal.SIGCONT)
                verdict = holder.stdout.readline().strip()
            assert verdict.startswith("lost: lock 'search:fenced' was taken over")
            assert "SLURM_SEARCH_LOCK_GRACE" in verdict
        else:
            # A flock is the kernel's: it stays with the stopped holder.
            with pytest.raises(LockTimeout):
                with lock("search:fenced", timeout=3):
                    pass
            os.kill(holder.pid, signal.SIGCONT)
            assert holder.stdout.readline().strip() == "still held"
    finally:
        os.kill(holder.pid, signal.SIGCONT)
        holder.wait(timeout=60)


def test_fence_outside_the_lock_is_an_error():
    with pytest.raises(NotLocked):
        fence("search:not-held")


def test_a_lock_folder_made_again_still_excludes(tmp_path):
    # flock: this process keeps its lock file open between acquisitions. When
    # the folder is removed and made again (a store wiped and reused), the
    # kept file is not the one others lock any more: the lock must follow
    # the path, never the stale file.
    import shutil

    with lock("search:again"):
        pass
    shutil.rmtree(locks_dir())
    assert_excluded_by_another_process("search:again")
    with lock("search:again", timeout=10):
        assert have_lock("search:again")


def test_many_names_keep_excluding_and_few_files_stay_open():
    # Past the number of lock files a process keeps open, the least recently
    # used are closed; every name still excludes another process.
    fds = lambda: len(os.listdir("/proc/self/fd"))  # noqa: E731
    before = fds()
    for i in range(200):
        with lock(f"search:many{i}"):
            pass
    assert fds() - before <= 64
    assert_excluded_by_another_process("search:many0")


def assert_excluded_by_another_process(name: str) -> None:
    """While another process holds `name`, this one cannot take it."""
    holder = start_holder(name, 600)
    try:
        with pytest.raises(LockTimeout):
            with lock(name, timeout=0.3):
                pass
    finally:
        holder.kill()
        holder.wait()
