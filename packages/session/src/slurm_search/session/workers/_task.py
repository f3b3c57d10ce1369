"""One Slurm array task's entry: ``python -m slurm_search.session.workers._task NAME GENERATION``.

Before it works, a task checks that its node sees the session in the store
(a store on a disk of the submitting host only is the usual mistake); if not,
it says so in one line and exits with status 2, which `_slurm.failed_at_start`
reports to the launcher.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Sequence

from slurm_search import state
from slurm_search.locking import settings
from slurm_search.session import UnknownSession, progress

from ._cli import main as cli_main
from ._slurm import HOME_VARIABLE, TASK_MODULE


def store_problem(name: str) -> str | None:
    """Why this host cannot work on the session ``name``, or None if it can.

    Run by each array task before it works: a store the node does not see
    (SLURM_SEARCH_HOME on a disk of the submitting host only, a folder of the
    same name that is another on each node) has no such session there.
    """
    try:
        root = str(state.root())
    except Exception as err:  # noqa: BLE001 - any failure to find the store is the answer
        root = f"{settings.home_key()[0] or '?'} ({err})"
    try:
        progress(name)
        return None
    except (UnknownSession, state.NotFound, state.StoreUnavailable, OSError):
        pass
    return (
        f"the store {root} is not visible on node {socket.gethostname()}: session {name} is not in it "
        f"(as seen from here); put {HOME_VARIABLE} on a filesystem shared by the submitting host and "
        "every compute node, and start the session there"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m slurm_search.session.workers._task NAME GENERATION``: one array task.

    Exits with status 2 and one line on stderr when the node cannot see the
    session (`store_problem`), else runs ``ssearch -v generational_work_on``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print(f"usage: python -m {TASK_MODULE} SESSION GENERATION", file=sys.stderr)
        raise SystemExit(2)
    name, generation = args
    problem = store_problem(name)
    if problem is not None:
        print(f"ssearch: error: {problem}", file=sys.stderr)
        raise SystemExit(2)
    cli_main(["-v", "generational_work_on", name, "--generation", str(int(generation))])


if __name__ == "__main__":
    main()
