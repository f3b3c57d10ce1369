"""`python -m slurm_search.state` (`state.command`): look at and repair the store by hand.

    python -m slurm_search.state list [TYPE]
    python -m slurm_search.state show TYPE:NAME
    python -m slurm_search.state restore TYPE:NAME
    python -m slurm_search.state salvage TYPE:NAME
    python -m slurm_search.state doctor [--slurm] [--slurm-arg=--partition=P ...]
    python -m slurm_search.state doctor --set-lock-mode auto|flock|soft

Errors a user can cause print one line on stderr and exit with status 1.
"""

from __future__ import annotations

import argparse
import os
import pprint
import sys
import time
from collections.abc import Sequence

from slurm_search import locking

from . import _doctor, _log, _names, _objects, _salvage, settings
from ._errors import NotFound, store_os_error
from ._frames import FILE_HEADER_SIZE

_SHOW_WIDTH = 2000  # characters of an object's repr that `show` prints


def _list(args: argparse.Namespace) -> None:
    for name in _objects.names(args.type):
        print(name)


def _describe(path: os.PathLike[str] | str) -> str:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "absent"
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.st_mtime))
    return f"{st.st_size} bytes, mode {st.st_mode & 0o777:04o}, written {when}"


def _show(args: argparse.Namespace) -> None:
    p = _names.paths(args.name)
    print(f"{p.name}  ({p.dir})")
    print(f"  object:   {_describe(p.object)}")
    print(f"  previous: {_describe(p.previous)}")
    print(f"  log:      {_describe(p.log)}")
    try:
        text = pprint.pformat(_objects.read(p.name), width=100)
    except NotFound:
        text = None
    if text is not None:
        if len(text) > _SHOW_WIDTH:
            text = text[:_SHOW_WIDTH] + f"... ({len(text)} characters)"
        print("  value:    " + text.replace("\n", "\n            "))
    if p.log.exists():
        recs, pos = _log.records(p.name)
        print(f"  records:  {len(recs)} (epoch {pos.epoch}, {pos.offset} bytes)")


def _restore(args: argparse.Namespace) -> None:
    _objects.restore_previous(args.name, timeout=args.timeout)
    print(f"restored the previous version of {args.name}; run the same command again to undo")


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _salvage_command(args: argparse.Namespace) -> None:
    report = _salvage.salvage(args.name, timeout=args.timeout)
    plan = report.plan
    frames = _count(len(plan.frames), "frame")
    records = _count(plan.records_before + plan.records_after, "record")
    if not report.damaged:
        line = f"the log of {report.name} has no damage ({frames}, {records}, {report.size} bytes)"
        if plan.torn is not None:
            # Not damage: what a killed writer leaves; the next append cuts it.
            tail = report.size - (plan.frames[-1].end if plan.frames else FILE_HEADER_SIZE)
            line += f"; its last {_count(tail, 'byte')} are a torn frame that the next append cuts"
        print(line + "; nothing changed")
        return
    print(f"salvaged the log of {report.name} ({report.path}):")
    if report.checkpoint is not None:
        print(f"  it did not match its checkpoint: {report.checkpoint}")
    if report.from_checkpoint is not None:
        print(f"  recovered from the checkpoint: every record of its first {_count(report.from_checkpoint, 'byte')}")
    elif report.checkpoint_aside is not None:
        print(
            f"  the checkpoint could not be used here (its records are lost unless its type's salvage "
            f"reads it, e.g. `ssearch salvage`); moved aside as {report.checkpoint_aside}"
        )
    print(
        f"  kept before the damage: {_count(plan.before, 'frame')}, "
        f"{_count(plan.records_before, 'record')}"
    )
    print(
        f"  recovered after it:     {_count(len(plan.frames) - plan.before, 'frame')}, "
        f"{_count(plan.records_after, 'record')}"
    )
    for gap in plan.skipped:
        print(f"  lost bytes {gap.start}-{gap.end} ({_count(gap.end - gap.start, 'byte')}): {gap.reason}")
    print(f"  the damaged file ({report.size} bytes) is kept as {report.aside}")
    print(
        f"  the new log holds {frames}, {records} ({report.new_size} bytes) under a new epoch: "
        "readers start again from 0"
    )


def _doctor_command(args: argparse.Namespace) -> int:
    if args.set_lock_mode:
        decision = locking.set_store_mode(args.set_lock_mode)
        print(f"{_names.root()} now locks with {decision.mode}: {decision.reason}")
        print("processes still running keep the mode they read: restart them")
        return 0
    report = _doctor.examine(slurm=args.slurm or settings.in_slurm_job(), slurm_args=args.slurm_arg)
    print("\n".join(report.lines))
    return 0 if report.problems == 0 else 1


def _exclusion_worker(args: argparse.Namespace) -> None:
    _doctor.exclusion_worker(args.name, args.rounds)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m slurm_search.state",
        description="Look at and repair the slurm-search store "
        f"(root: $SLURM_SEARCH_HOME, now {_names.root()}).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("list", help="list the stored objects")
    cmd.add_argument("type", nargs="?", help="only this type (e.g. exp, search)")
    cmd.set_defaults(run=_list)
    cmd = sub.add_parser("show", help="describe one object: files, value, log")
    cmd.add_argument("name", help="TYPE:NAME")
    cmd.set_defaults(run=_show)
    cmd = sub.add_parser(
        "restore",
        help="make the previous version current (swaps the two: run again to undo)",
    )
    cmd.add_argument("name", help="TYPE:NAME")
    cmd.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the lock")
    cmd.set_defaults(run=_restore)
    cmd = sub.add_parser(
        "salvage",
        help="rewrite a damaged log with every record that can still be read "
        "(the damaged file is kept beside it)",
    )
    cmd.add_argument("name", help="TYPE:NAME")
    cmd.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the lock")
    cmd.set_defaults(run=_salvage_command)
    cmd = sub.add_parser(
        "doctor",
        help="is the store safe here? filesystem, lock mode, modes, space, a live test",
    )
    cmd.add_argument(
        "--slurm",
        action="store_true",
        help="also run the live test between two nodes through srun (the default inside an allocation)",
    )
    cmd.add_argument(
        "--slurm-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an srun option for --slurm, e.g. --slurm-arg=--partition=debug (repeatable)",
    )
    cmd.add_argument(
        "--set-lock-mode",
        choices=("auto", "flock", "soft"),
        help="record a new lock mode for the store (only with no worker running)",
    )
    cmd.set_defaults(run=_doctor_command)
    cmd = sub.add_parser("_exclusion-worker")  # doctor's live test, one side
    cmd.add_argument("name")
    cmd.add_argument("rounds", type=int)
    cmd.set_defaults(run=_exclusion_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        status = args.run(args)
    except locking.SlurmSearchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        wrapped = store_os_error(err)
        if wrapped is None:
            raise
        print(f"error: {wrapped}", file=sys.stderr)
        return 1
    return status or 0

