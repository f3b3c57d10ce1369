"""Worker processes for the state tests, run as real subprocesses:

    python state_workers.py COMMAND ARGS...

Each prints progress lines ("B v" before a write begins, "D v" once it has
returned) and flushes them, so a test that kills it knows which writes may
have been committed. Also importable: the tests share `run`, `blob` and
`record` from here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(*args: str, stdin=None, stdout=subprocess.PIPE) -> subprocess.Popen:
    """Start `python state_workers.py ARGS` (the environment is inherited)."""
    return subprocess.Popen(
        [sys.executable, str(HERE / "state_workers.py"), *args],
        stdin=stdin,
        stdout=stdout,
        text=True,
    )


def blob(version: int, size: int) -> dict:
    """An object whose every byte says which version it is."""
    return {"version": version, "blob": bytes([version % 251]) * size}


def record(i: int, max_size: int) -> tuple[int, bytes]:
    """The i-th record of the appender: its size and bytes follow from i."""
    size = (i * 7919) % max_size + 1
    return (i, bytes([i % 251]) * size)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def incr(name: str, count: str) -> None:
    from slurm_search import state

    for _ in range(int(count)):
        with state.transaction(name, timeout=120) as box:
            box.value["n"] += 1


def create_counter(name: str) -> None:
    from slurm_search import state

    state.create(name, {"n": 0})


def incr_fenced(name: str, count: str, hold: str) -> None:
    """`count` increments, each holding the lock `hold` seconds; a refused one is retried.

    Prints "done D refused R": D increments written, R refused by the fence.
    """
    import time

    from slurm_search import state

    done = refused = 0
    while done < int(count):
        try:
            with state.transaction(name, timeout=120) as box:
                time.sleep(float(hold))
                box.value["n"] += 1
        except state.LockNotCoherent:
            refused += 1
            continue
        done += 1
    _say(f"done {done} refused {refused}")


def append_n(name: str, count: str, tag: str, size: str = "256") -> None:
    from slurm_search import state

    pad = b"x" * max(0, int(size) - 40)
    for i in range(int(count)):
        state.append(name, (tag, i, pad), timeout=120)


def hold(name: str) -> None:
    """Hold a lock until stdin closes."""
    from slurm_search import locking

    with locking.lock(name):
        _say("held")
        sys.stdin.read()


def writer(name: str, size: str, first: str) -> None:
    """Write versions first, first+1, ... of `name` forever (until killed)."""
    from slurm_search import state

    version = int(first)
    while True:
        obj = blob(version, int(size))
        _say(f"B {version}")
        state.update(name, obj)
        _say(f"D {version}")
        version += 1


def appender(name: str, max_size: str, first: str) -> None:
    """Append records first, first+1, ... to `name`'s log forever (until killed)."""
    from slurm_search import state

    i = int(first)
    while True:
        rec = record(i, int(max_size))
        _say(f"B {i}")
        state.append(name, rec)
        _say(f"D {i}")
        i += 1


def incr_threads(name: str, threads: str, count: str) -> None:
    workers = [threading.Thread(target=incr, args=(name, count)) for _ in range(int(threads))]
    for t in workers:
        t.start()
    for t in workers:
        t.join()


def forkserver() -> None:
    """Import the store once, then fork one worker per command line on stdin.

    Starting a Python process costs far more than most of the moments at
    which the crash tests kill a writer; a worker forked from this clean,
    single-threaded process is a real process, killed by a real SIGKILL, and
    costs a fork. Line: COMMAND OUTFILE ARGS...; answers "pid P", then
    "status S" (the wait status as an exit code: -9 for SIGKILL).
    """
    import slurm_search.state  # noqa: F401 - paid once, here

    for line in sys.stdin:
        command, out, *args = line.split()
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(fd, 1)
                sys.stdout = open(1, "w", buffering=1)
                COMMANDS[command](*args)
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        _say(f"pid {pid}")
        _, status = os.waitpid(pid, 0)
        _say(f"status {os.waitstatus_to_exitcode(status)}")


class ForkServer:
    """The test's end of `forkserver`: one worker at a time."""

    def __init__(self) -> None:
        self.proc = run("forkserver", stdin=subprocess.PIPE)
        self.pid: int | None = None

    def start(self, out: Path, command: str, *args: str) -> int:
        out.write_bytes(b"")
        self.proc.stdin.write(" ".join([command, str(out), *args]) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().split()
        assert answer[0] == "pid", answer
        self.pid = int(answer[1])
        return self.pid

    def wait(self) -> int:
        answer = self.proc.stdout.readline().split()
        assert answer[0] == "status", answer
        self.pid = None
        return int(answer[1])

    def close(self) -> None:
        if self.pid is not None:  # a test failed with its worker running
            os.kill(self.pid, signal.SIGKILL)
            self.wait()
        self.proc.stdin.close()
        assert self.proc.wait(timeout=60) == 0


COMMANDS = {
    "incr": incr,
    "append": append_n,
    "hold": hold,
    "writer": writer,
    "appender": appender,
    "incr_threads": incr_threads,
    "forkserver": forkserver,
    "incr_fenced": incr_fenced,
    "create_counter": create_counter,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
