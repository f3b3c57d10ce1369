"""A user's own executor, as a plug-in would ship it: workers as threads of this process.

Registered by `install_executor` through a dist-info's entry points (the
registry's real path), under the method word ``threads``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from _cli_helpers import register

from slurm_search import session
from slurm_search.session.workers import Executor, Launched, WorkersFailed


@dataclasses.dataclass
class ThreadsLaunched(Launched):
    """What `ThreadExecutor` started: its own data in its own subclass."""

    threads: list[threading.Thread] = dataclasses.field(default_factory=list)


class ThreadExecutor(Executor):
    """``threads``: ``work_on`` in W threads of the calling process."""

    name = "threads"

    def start(self, name: str, workers: int, options: Mapping[str, Any], *, wait: bool) -> Launched:
        threads = [threading.Thread(target=session.work_on, args=(name,), daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()
        return ThreadsLaunched(name, self.name, workers, self, threads=threads)

    def wait(self, launched: Launched, show: bool = True) -> Any:
        assert isinstance(launched, ThreadsLaunched)
        for thread in launched.threads:
            thread.join()
        progress = session.progress(launched.name)
        if progress.status not in ("done", "stopped", "failed"):
            raise WorkersFailed(launched.name, "its threads ended")
        return progress


def install_executor(root: Path) -> Path:
    """Write a dist-info under ``root`` registering `ThreadExecutor` as ``threads`` (and a broken one)."""
    register(root, "ssearch-test-executors", "slurm_search.executors", {
        "threads": "user_executor:ThreadExecutor",
        "nowhere": "no_such_module_here:Executor",
        "slurm": "user_executor:ThreadExecutor",
    })
    return root
