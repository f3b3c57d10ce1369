"""Worker processes for the state tests, run as real subprocesses:

    python state_workers.py COMMAND ARGS...

Each prints progress lines ("B v" before a write begins, "D v" once it has
returned) and flushes them, so a test that kills it knows which writes may
have been committed. Also importable: the tests share `run`, `blob` and
`record` from here.
"""

from __future__ import annotations

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


COMMANDS = {
    "incr": incr,
    "append": append_n,
    "hold": hold,
    "writer": writer,
    "appender": appender,
    "incr_threads": incr_threads,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
