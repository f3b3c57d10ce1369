"""Benchmark of slurm_search.state against the bare floors on the same disk.

    .venv/bin/python bench/bench_state.py [--seconds S] [--dir DIR]

Measures, with 1, 2 and 8 processes on one name:
  * transactions/s (read, change, write back) of a 1 KB and a 1 MB object,
    beside the floor: a bare loop of lock + temporary file + fsync + rename +
    folder fsync of the same bytes;
  * appends/s of one 256-byte record, beside the floor: a bare loop of
    lock + append + fsync;
and one bare fsync. Prints a table with the ratios store / floor (the target
is >= 70% for the 1 KB transaction and the append). The store lives in a
fresh temporary folder under --dir (default: the system's temporary folder),
never in ~/hyperparameters.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

NAME = "bench:one"
PROCS = (1, 2, 8)
KB = 1024
MB = 1024 * 1024
RECORD = 256


def _payload(size: int) -> dict:
    return {"n": 0, "blob": b"x" * size}


# --- what each process runs: count operations until the deadline ----------


def _bare_fsync(folder: Path, deadline: float) -> int:
    fd = os.open(folder / f"fsync.{os.getpid()}", os.O_WRONLY | os.O_CREAT, 0o600)
    n = 0
    try:
        while time.monotonic() < deadline:
            os.pwrite(fd, b"x", 0)
            os.fsync(fd)
            n += 1
    finally:
        os.close(fd)
    return n


def _floor_replace(folder: Path, deadline: float, size: int) -> int:
    from slurm_search.locking import lock

    data = b"x" * size
    target = folder / "floor.pickle"
    tmp = folder / ".floor.pickle.tmp"
    n = 0
    while time.monotonic() < deadline:
        with lock("bench:floor-replace"):
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            os.replace(tmp, target)
            dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            os.fsync(dfd)
            os.close(dfd)
        n += 1
    return n


def _floor_append(folder: Path, deadline: float) -> int:
    from slurm_search.locking import lock

    data = b"x" * RECORD
    path = folder / "floor.log"
    n = 0
    while time.monotonic() < deadline:
        with lock("bench:floor-append"):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
        n += 1
    return n


def _store_transaction(folder: Path, deadline: float) -> int:
    from slurm_search import state

    n = 0
    while time.monotonic() < deadline:
        with state.transaction(NAME) as box:
            box.value["n"] += 1
        n += 1
    return n


def _store_append(folder: Path, deadline: float) -> int:
    from slurm_search import state

    record = b"x" * RECORD
    n = 0
    while time.monotonic() < deadline:
        state.append(NAME, record)
        n += 1
    return n


KINDS = {
    "fsync": _bare_fsync,
    "floor_replace": _floor_replace,
    "floor_append": _floor_append,
    "transaction": _store_transaction,
    "append": _store_append,
}


def _worker(kind, folder, args, ready, go, seconds, results):  # type: ignore[no-untyped-def]
    import slurm_search.state  # noqa: F401 - import before the clock starts

    ready.release()
    go.wait()
    deadline = time.monotonic() + seconds
    results.put(KINDS[kind](Path(folder), deadline, *args))


def measure(kind: str, procs: int, folder: Path, seconds: float, *args: int) -> float:
    """Operations per second of `kind`, summed over `procs` processes (one run)."""
    ctx = mp.get_context("spawn")
    ready, go, results = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(kind, str(folder), args, ready, go, seconds, results))
        for _ in range(procs)
    ]
    for w in workers:
        w.start()
    for _ in workers:
        ready.acquire()
    start = time.monotonic()
    go.set()
    total = sum(results.get() for _ in workers)
    elapsed = time.monotonic() - start
    for w in workers:
        w.join()
    return total / elapsed


def pair(store, floor, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """The best of `repeat` alternated runs of the store and of its floor."""
    runs = [(store(), floor()) for _ in range(repeat)]
    return max(r[0] for r in runs), max(r[1] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="per run")
    parser.add_argument("--dir", default=None, help="where to make the temporary store")
    parser.add_argument(
        "--repeat", type=int, default=5,
        help="runs of each store/floor pair, alternated; the best of each is kept "
        "(the machine is shared: a neighbour's burst should not decide a ratio)",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-state-", dir=args.dir))
    os.environ["SLURM_SEARCH_HOME"] = str(folder / "home")
    from slurm_search import state

    floors = folder / "floors"
    floors.mkdir()
    rows = []
    try:
        fsync = max(measure("fsync", 1, floors, args.seconds) for _ in range(args.repeat))
        print(f"bare fsync, 1 process: {fsync:,.0f}/s", flush=True)
        for size, label in ((KB, "1 KB"), (MB, "1 MB")):
            if state.exists(NAME):
                state.delete(NAME)
            state.create(NAME, _payload(size))
            for procs in PROCS:
                store, floor = pair(
                    lambda: measure("transaction", procs, floors, args.seconds),
                    lambda: measure("floor_replace", procs, floors, args.seconds, size),
                    args.repeat,
                )
                rows.append((f"transaction {label}", procs, store, floor))
                print(_row(rows[-1]), flush=True)
        state.delete(NAME)
        for procs in PROCS:
            store, floor = pair(
                lambda: measure("append", procs, floors, args.seconds),
                lambda: measure("floor_append", procs, floors, args.seconds),
                args.repeat,
            )
            rows.append((f"append {RECORD} B", procs, store, floor))
            print(_row(rows[-1]), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print()
    print(
        f"bare fsync (1 process): {fsync:,.0f}/s; best of {args.repeat} runs of "
        f"{args.seconds:g} s per measurement"
    )
    print()
    print("| operation | processes | store /s | floor /s | store / floor |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(_row(row))
    return 0


def _row(row: tuple[str, int, float, float]) -> str:
    what, procs, store, floor = row
    return f"| {what} | {procs} | {store:,.0f} | {floor:,.0f} | {store / floor:.0%} |"


if __name__ == "__main__":
    sys.exit(main())
