"""The errors of slurm_search.session.

Every error a user can cause reads, as a string, as one line that names the
problem and the way out. Each carries the values a caller needs as
attributes (catch the type, read the attributes, never parse the message),
and survives pickling, so it can cross a process boundary intact.
"""

from __future__ import annotations

from collections.abc import Sequence

from slurm_search.locking import SlurmSearchError

# The longest `type:name` of a session, in UTF-8 bytes: the lock layer takes
# names of up to 200 bytes, and a session also locks `<type:name>.slurm`.
MAX_NAME_BYTES = 200 - len(".slurm")


class SessionError(SlurmSearchError):
    """Base class of every error raised by slurm_search.session."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidSessionName(SessionError, ValueError):
    """A session name is not `name` or `type:name` with valid parts.

    Attributes:
        name: the name as given.
        reason: what is wrong with it, when it is more than the form (a
            `..`, its length); else None.
    """

    def __init__(self, name: object, reason: str | None = None) -> None:
        shown = repr(name)
        if len(shown) > 80:
            shown = shown[:60] + "..." + shown[-10:]
        super().__init__(
            f"invalid session name {shown}{' (' + reason + ')' if reason else ''}: use NAME or TYPE:NAME, "
            "each part letters, digits, '_', '.' or '-', starting with a letter or digit, "
            f"without '..', at most {MAX_NAME_BYTES} bytes in all"
        )
        self.name = name
        self.reason = reason


class UnknownSession(SessionError, KeyError):
    """No session is stored under a name.

    Attributes:
        name: the `type:name` asked for.
        close: stored session names that look like it (maybe empty).
    """

    def __init__(self, name: str, close: Sequence[str] = ()) -> None:
        hint = (
            f"did you mean {', '.join(close)}?"
            if close
            else "see the existing ones with `ssearch list --all`"
        )
        super().__init__(f"no session named {name!r}: {hint}")
        self.name = name
        self.close = list(close)


class SessionExists(SessionError):
    """`create_session` was given the name of an existing session.

    Attributes:
        name: the `type:name`.
    """

    def __init__(self, name: str) -> None:
        super().__init__(
            f"a session named {name!r} already exists: choose another name, "
            "or leave the name out to get a fresh one"
        )
        self.name = name


class CorruptSession(SessionError):
    """A session's stored log does not describe a session, or is damaged.

    Attributes:
        name: the `type:name`.
        reason: what is wrong.
        way_out: what to do (default: inspect it, or delete it).
    """

    def __init__(self, name: str, reason: str, way_out: str | None = None) -> None:
        if way_out is None:
            way_out = f"inspect it with `python -m slurm_search.state show {name}`, or delete it"
        super().__init__(f"session {name!r} is damaged ({reason}): {way_out}")
        self.name = name
        self.reason = reason
        self.way_out = way_out


SALVAGE_SESSION = "ssearch salvage {name}"


def damaged_log(name: str, reason: str) -> CorruptSession:
    """A session whose log is damaged (the store's CorruptState): the way out is salvage."""
    return CorruptSession(
        name,
        reason,
        "nothing was skipped or appended; recover every readable record (and what its checkpoint holds) "
        f"with: {SALVAGE_SESSION.format(name=name)}",
    )


class UnsupportedFormat(SessionError):
    """A session's on-disk format is one this process does not speak (see _format.py).

    Raised before this process claims, reports or writes anything.

    Attributes:
        name: the `type:name`.
        version: the session's format version.
        writes: the version this process writes.
        reads: the versions this process reads.
    """

    def __init__(self, name: str, version: int, writes: int, reads: Sequence[int]) -> None:
        newer = version > writes
        fix = (
            "upgrade slurm-search-session on this host: every worker of a session must run the same version"
            if newer
            else "run it with the slurm-search-session version that wrote it, or upgrade every worker together"
        )
        spoken = ", ".join(str(v) for v in reads)
        super().__init__(
            f"session {name!r} has on-disk format {version}, but this slurm-search-session reads "
            f"format {spoken} (writes {writes}): nothing was claimed or written; {fix}"
        )
        self.name = name
        self.version = version
        self.writes = writes
        self.reads = list(reads)


class InvalidObjective(SessionError, ValueError):
    """The objective path does not name an importable callable.

    Attributes:
        objective: the path as given (`package.module:function`).
        reason: why it was refused.
    """

    def __init__(self, objective: object, reason: str) -> None:
        super().__init__(
            f"invalid objective {objective!r}: {reason}; give an importable "
            "'package.module:function'"
        )
        self.objective = objective
        self.reason = reason


class InvalidSpace(SessionError, ValueError):
    """The search space is not one hyperopt (or the chosen algo) can use.

    Attributes:
        reason: why it was refused.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid search space: {reason}")
        self.reason = reason


class InvalidSetting(SessionError, ValueError):
    """A session setting (algo, max_evals, lease, ...) has a wrong value.

    Attributes:
        setting: the setting's name.
        value: the value given.
    """

    def __init__(self, setting: str, value: object, expected: str) -> None:
        super().__init__(f"invalid {setting} {value!r}: expected {expected}")
        self.setting = setting
        self.value = value


class InvalidResult(SessionError, ValueError):
    """An objective's return value is not a loss.

    Attributes:
        value: what was returned (its repr, cut short).
    """

    def __init__(self, value: object, expected: str | None = None) -> None:
        text = repr(value)
        if len(text) > 200:
            text = text[:200] + "..."
        super().__init__(
            f"the objective returned {text}: "
            + (expected or "return a finite float (the loss) or a dict with a finite 'loss'")
        )
        self.value = text


class NoMoreTrials(SessionError):
    """There is no trial to claim now.

    Attributes:
        name: the session.
        reason: `"done"` (every trial finished), `"stopped"` (`stop` was
            called), `"failed"` (too many failed trials), or `"busy"` (every
            trial is claimed by live workers; one may come free at
            `retry_at`).
        retry_at: for `"busy"`, the time (`time.time()`) at which the first
            lease runs out; else None.
    """

    def __init__(self, name: str, reason: str, retry_at: float | None = None) -> None:
        why = {
            "done": "every trial has finished",
            "stopped": "the session is stopped (resume it with `ssearch enable`)",
            "failed": "the session failed: too many failed trials "
            "(see `ssearch progress`, fix the objective, then `ssearch restart`)",
            "busy": "every trial is claimed by a running worker",
        }.get(reason, reason)
        super().__init__(f"no more trials in {name!r}: {why}")
        self.name = name
        self.reason = reason
        self.retry_at = retry_at


class LeaseLost(SessionError):
    """A worker no longer owns the trial it reports on.

    Its lease ran out and another worker took the trial over, or the trial
    was deleted or finished. The report is refused; nothing is recorded.

    Attributes:
        name: the session.
        tid: the trial.
        worker: the worker that reported.
        attempt: the attempt it reported for (None: any).
        owner: who owns the trial now (None: nobody).
    """

    def __init__(
        self, name: str, tid: int, worker: str, attempt: int | None, owner: str | None, why: str
    ) -> None:
        super().__init__(
            f"worker {worker!r} lost trial {tid} of {name!r} ({why}): its report "
            "is dropped; renew leases more often than lease_seconds"
        )
        self.name = name
        self.tid = tid
        self.worker = worker
        self.attempt = attempt
        self.owner = owner


class UnknownTrial(SessionError, KeyError):
    """A session has no trial with the given tid.

    Attributes:
        name: the session.
        tid: the trial id asked for.
    """

    def __init__(self, name: str, tid: object) -> None:
        super().__init__(
            f"session {name!r} has no trial {tid!r}: see its trials with `ssearch trials {name}`"
        )
        self.name = name
        self.tid = tid


class Pruned(SessionError):
    """Raised by `report` when the session's pruner stops the current trial.

    Let it propagate out of the objective: the worker records the trial as
    `pruned` (its loss is its last reported value). It is not a failure and
    the trial is never run again.

    Attributes:
        name: the session.
        tid: the pruned trial.
        attempt: its attempt.
        step: the step of its last report.
        value: its last reported value (the pruned trial's loss).
    """

    def __init__(self, name: str, tid: int, attempt: int, step: int | None, value: float | None) -> None:
        super().__init__(
            f"trial {tid} of {name!r} was pruned at step {step} (value {value!r}): "
            "let this exception leave the objective"
        )
        self.name = name
        self.tid = tid
        self.attempt = attempt
        self.step = step
        self.value = value


class NotInTrial(SessionError, RuntimeError):
    """`report`, `save_checkpoint`, `suspend`... was called where no trial is being evaluated.

    Attributes:
        call: what was called (`report()` by default).
    """

    def __init__(self, call: str = "report()") -> None:
        super().__init__(
            f"{call} was called outside a trial: call it from an objective that a session's "
            "worker evaluates (work_on, `ssearch work_on`, a DSL sampling node)"
        )
        self.call = call


class Suspended(SessionError):
    """Raised by `suspend()`: the objective hands its trial back, to be continued later.

    Let it propagate out of the objective (after `save_checkpoint`): the
    worker hands the trial back at once (not a failure), and the trial's next
    attempt, on any worker, continues from its newest checkpoint.

    Attributes:
        name: the session.
        tid: the trial.
        attempt: its attempt.
        reason: why (the worker was told to leave: time limit, preemption...).
    """

    def __init__(self, name: str, tid: int, attempt: int, reason: str) -> None:
        super().__init__(
            f"trial {tid} of {name!r} is suspended ({reason}): let this exception leave the objective"
        )
        self.name = name
        self.tid = tid
        self.attempt = attempt
        self.reason = reason


class Exploited(SessionError):
    """Raised by `save_checkpoint` in a PBT member that takes over a better member's checkpoint.

    Not an error: PBT's word. Let it propagate out of the objective; the
    worker calls the objective again at once, in the same attempt, with
    the new parameters, and `load_checkpoint()` then returns the copy of
    the donor's checkpoint.

    Attributes:
        name: the session.
        tid: the member (trial).
        step: the step it exploited at.
        donor: the member whose checkpoint it took.
        donor_step: the step that checkpoint stands for (it goes on from there).
    """

    def __init__(self, name: str, tid: int, step: int, donor: int, donor_step: int) -> None:
        super().__init__(
            f"trial {tid} of {name!r} exploits trial {donor} at step {step}: "
            "let this exception leave the objective (it is called again with new parameters)"
        )
        self.name = name
        self.tid = tid
        self.step = step
        self.donor = donor
        self.donor_step = donor_step


class CheckpointError(SessionError, ValueError):
    """A trial checkpoint could not be saved; the trial goes on without it.

    Catch it in the objective to go on training (the previous checkpoint
    stays the newest); let it out to fail the trial.

    Attributes:
        name: the session.
        tid: the trial.
        reason: what is wrong (does not pickle, too big, the store is full).
    """

    def __init__(self, name: str, tid: int, reason: str) -> None:
        super().__init__(f"checkpoint of trial {tid} of {name!r} not saved: {reason}")
        self.name = name
        self.tid = tid
        self.reason = reason


class InvalidReport(SessionError, ValueError):
    """An intermediate report is not a finite value at a whole step >= 0.

    Attributes:
        value: the value given.
        step: the step given.
    """

    def __init__(self, value: object, step: object) -> None:
        super().__init__(
            f"invalid report value={value!r} step={step!r}: report a finite number "
            "(an intermediate loss, lower is better) at a whole step >= 0"
        )
        self.value = value
        self.step = step
class UnknownLabel(SessionError, KeyError):
    """A label (`exp:NAME/path`) names no session, or several.

    Attributes:
        label: the label as given.
        candidates: labels that exist and look like it (may be empty).
        reason: why it names no single session.
    """

    def __init__(self, label: str, reason: str, candidates: Sequence[str] = ()) -> None:
        shown = f"; labels: {', '.join(candidates)}" if candidates else ""
        super().__init__(f"{label!r} {reason}{shown}")
        self.label = label
        self.reason = reason
        self.candidates = list(candidates)
