"""Run in a separate process by the locking tests.

    python _worker.py hold NAME SECONDS      take NAME, print "held", sleep, release
    python _worker.py count NAME FILE N      N times: under NAME, read FILE, write it + 1
    python _worker.py fence NAME SECONDS     take NAME, print "held", sleep, print fence's verdict
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from slurm_search.locking import lock


def main() -> None:
    action, name = sys.argv[1], sys.argv[2]
    if action == "hold":
        with lock(name):
            print("held", flush=True)
            time.sleep(float(sys.argv[3]))
    elif action == "count":
        path, times = Path(sys.argv[3]), int(sys.argv[4])
        for _ in range(times):
            with lock(name):
                value = int(path.read_text() or 0)
                time.sleep(0.0005)  # widen the race window a lock must close
                path.write_text(str(value + 1))
    elif action == "fence":
        from slurm_search.locking import LockLost, fence

        with lock(name):
            print("held", flush=True)
            time.sleep(float(sys.argv[3]))
            try:
                fence(name)
                print("still held", flush=True)
            except LockLost as err:
                print(f"lost: {err}", flush=True)
    else:
        raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    main()
