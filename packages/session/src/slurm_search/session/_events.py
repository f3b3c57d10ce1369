"""The records of a session's log: one spec, then small events.

A session `type:name` is the store's append-only log for that name. Its first
record is `Created(spec)`; every later record is one of the events below,
appended under the session's lock by whoever caused it (a worker claiming,
renewing, reporting; a user stopping or deleting a trial). Replaying the log
through `_model.apply` gives the session's state, so the log, never a
rewritten snapshot, is what a claim writes: appending costs the same with 10
trials or 10,000.

Records are NamedTuples: they pickle small and fast. Their module path and
field order are part of the stored format: add fields at the end with
defaults, never rename or reorder.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Spec(NamedTuple):
    """What a session searches and how; fixed when the session is created.

    Attributes:
        objective: `package.module:function`, called as `fn(params, context)`.
        space: the hyperopt search space (top-level lists already made
            `hp.choice`), pickled: reading a log (`ssearch list`) must not
            import hyperopt or whatever the space refers to.
        algo: `rand`, `tpe`, `anneal`, `enumeration` or `optuna:NAME`.
        max_evals: how many trials the session runs.
        seed: the session's seed; each trial's suggestion is seeded from
            (seed, tid).
        context: any picklable object, passed to the objective; pickled,
            for the same reason as `space`.
        metadata: free-form, for display.
        max_attempts: attempts (failures or lost leases) before a trial is failed.
        max_failures: failed trials tolerated; one more fails the session.
        lease_seconds: how long a claim lasts unless renewed.
        interruptible: whether workers with a deadline keep claiming until
            the deadline (their last trial may be cut off and re-run).
        uid: random, tells apart two sessions created under one name.
        created: `time.time()` at creation.
        error_attempts: attempts of a trial whose objective raises (or
            returns what cannot be stored, or times out) before it fails;
            1: such a trial is not retried (retries are for lost workers).
        trial_timeout: seconds an objective may run before its trial is
            stopped and failed; None: no limit.
        pruner: `median`, `asha` or None: which pruner stops trials early
            on their intermediate reports (see _pruners.py).
        pruner_options: the pruner's options, defaults filled in.
        goal: how the loss reads for people (see _goals.py): `min` (the
            objective's value), `max` (minus the value), `none` (a
            placeholder: nothing is optimised).
        checkpoints: how trial checkpoints are kept (`keep`: the newest K
            of a trial; `keep_finished`: kept after the trial ends;
            `max_bytes`: the largest allowed), defaults filled in.
        format: the session's on-disk format version (see _format.py);
            a log written before versions were recorded reads as 1.
        pbt: population-based training's options (`algo="pbt"`: see
            _pbt.py), defaults filled in; None for other algorithms.
        sampler_options: an Optuna sampler's keyword arguments (algo
            `optuna:NAME`, see _optuna_sampling.py), or None.
        directions: a multi-objective session's direction per value
            (`min`, `max`; see _multi.py), or None (one loss).
    """

    objective: str
    space: bytes
    algo: str
    max_evals: int
    seed: int
    context: bytes = b"N."
    metadata: dict | None = None
    max_attempts: int = 3
    max_failures: int = 5
    lease_seconds: float = 60.0
    interruptible: bool = False
    uid: str = ""
    created: float = 0.0
    # Added in 0.2: logs written before read as their defaults.
    error_attempts: int = 1
    trial_timeout: float | None = None
    # Added in 0.3 (intermediate reports and pruning).
    pruner: str | None = None
    pruner_options: dict | None = None
    # Added with goals: logs written before read as "min", as they were shown.
    goal: str = "min"
    # Added in 0.4 (trial checkpoints): keep, keep_finished, max_bytes
    # (see _trial_checkpoints.CHECKPOINT_DEFAULTS); None: the defaults.
    checkpoints: dict | None = None
    # Added with format 2 (issue 21): the on-disk format the session was
    # created with; logs written before read as 1.
    format: int = 1
    # Added with population-based training (algo "pbt"; see _pbt.PBT_DEFAULTS).
    pbt: dict | None = None
    # Added with Optuna's samplers (algo `optuna:NAME`): the sampler's keyword arguments.
    sampler_options: dict | None = None
    # Added with multi-objective sessions: `min`/`max` per value (see _multi.py); None: one loss.
    directions: tuple | None = None


class Created(NamedTuple):
    """The first record of a session's log."""

    spec: Spec


class Claim(NamedTuple):
    """A worker takes a trial until `lease_until`.

    `vals` (hyperopt's `misc["vals"]`) is given for a new trial only; a
    re-claim of a trial (attempt > 1) keeps the trial's parameters.
    """

    tid: int
    worker: str
    attempt: int
    lease_until: float
    time: float
    vals: dict | None = None


class Renew(NamedTuple):
    """The owner of a trial extends its lease."""

    tid: int
    worker: str
    attempt: int
    lease_until: float
    time: float


class Result(NamedTuple):
    """The owner of a trial reports its result (a dict with a float `loss`)."""

    tid: int
    worker: str
    attempt: int
    result: dict
    time: float
    duration: float


class Failure(NamedTuple):
    """The owner of a trial reports that the objective raised."""

    tid: int
    worker: str
    attempt: int
    traceback: str
    time: float
    duration: float


class Report(NamedTuple):
    """The owner of a trial reports intermediate values (a batch of them).

    `values` is a tuple of `(step, value)` in the order they were reported;
    a value is an intermediate loss (lower is better). A later report of a
    step replaces the earlier one. Reports of an attempt that does not hold
    the trial any more are refused, like its results.
    """

    tid: int
    worker: str
    attempt: int
    values: tuple
    time: float


class Prune(NamedTuple):
    """The owner of a trial reports that it stopped it on the pruner's word.

    `loss` is the trial's last reported value (None if it reported none:
    a trial stopped because an enclosing trial was pruned); `step` its step.
    """

    tid: int
    worker: str
    attempt: int
    step: int | None
    loss: float | None
    time: float
    duration: float


class Checkpoint(NamedTuple):
    """The holder of a trial published checkpoint `seq` of it (a file beside the log).

    `step` is the step it stands for (the objective's, else its last
    report's; None if neither): a trial resumed from it continues its
    reports from there. `size` is in bytes; `folder` tells the two forms
    apart (a pickled object, or a folder of files).
    """

    tid: int
    worker: str
    attempt: int
    seq: int
    step: int | None
    size: int
    folder: bool
    time: float


class Exploit(NamedTuple):
    """A PBT member (trial `tid`) takes over a better member's checkpoint and new parameters.

    At `step` (a multiple of the session's `interval`), the holder of trial
    `tid` found it in the bottom quantile of the members compared at that
    step (`_pbt.exploit_decision`): it copied checkpoint `donor_seq` of
    trial `donor` (which stands for `donor_step`) into its own folder as
    its checkpoint `seq`, and goes on from there with `new_vals` (explored
    from the donor's vals) instead of `old_vals`. Fenced like a checkpoint:
    only the attempt that holds the trial may append it.
    """

    tid: int
    worker: str
    attempt: int
    step: int
    donor: int
    donor_seq: int
    donor_step: int
    seq: int
    old_vals: dict
    new_vals: dict
    time: float


class Suspend(NamedTuple):
    """The holder of a trial hands it back before it finished (told to leave).

    The trial waits for its next attempt at once, on any node; `reason`
    says why (the job's time limit, a preemption, a signal).
    """

    tid: int
    worker: str
    attempt: int
    reason: str
    time: float


class Expire(NamedTuple):
    """A trial's last allowed attempt lost its lease: the trial is failed.

    Appended by the worker that found the lease run out; an expired trial
    with attempts left is simply claimed again (`Claim` with attempt + 1).
    """

    tid: int
    attempt: int
    time: float


class Status(NamedTuple):
    """A user's command: `"stop"`, `"enable"` or `"restart"`."""

    action: str
    time: float


class Delete(NamedTuple):
    """A user deletes a trial; its tid is never used again."""

    tid: int
    time: float


class Annotate(NamedTuple):
    """A free-form key/value about the session (Slurm job ids, generations...)."""

    key: str
    value: Any
    time: float


class Snapshot(NamedTuple):
    """Stands for every record before it (written by `compact_session`)."""

    state: Any
