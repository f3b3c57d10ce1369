"""The errors of the experiment language and of ``run_exp``.

Every error a user can cause is a ``DslError``: its ``str()`` is one line that
names the problem and the way out, which is all ``run_exp`` prints.
"""

from __future__ import annotations

from collections.abc import Sequence

from slurm_search.session import SlurmSearchError

__all__ = [
    "DslError",
    "UnknownExperiment",
    "SpecError",
    "UnknownParameter",
    "BadValue",
    "UnusedParameter",
    "NoSuchRun",
    "ResumeMismatch",
    "MeasureError",
    "SamplingError",
    "ExperimentStopped",
]


class DslError(SlurmSearchError):
    """Base of the dsl package's errors; ``str()`` is one line for the user."""


class UnknownExperiment(DslError):
    """No registered experiment and no importable spec has this name.

    Attributes:
        name: what the user asked for.
        available: the registered experiment names.
        closest: the registered names closest to ``name``.
    """

    def __init__(self, name: str, available: Sequence[str], closest: Sequence[str], reason: str = "") -> None:
        self.name = name
        self.available = list(available)
        self.closest = list(closest)
        hint = f"did you mean {' or '.join(self.closest)}? " if self.closest else ""
        listed = ", ".join(self.available) or "none registered"
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"unknown experiment {name!r}{why}; {hint}available: {listed} "
            "(or give an importable spec as package.module:attribute)"
        )


class SpecError(DslError):
    """An experiment spec lacks a key or has one of the wrong kind.

    Attributes:
        ref: the spec's name or import path.
    """

    def __init__(self, ref: str, problem: str) -> None:
        self.ref = ref
        self.problem = problem
        super().__init__(f"experiment spec {ref!r} is not valid: {problem}")


class UnknownParameter(DslError):
    """An override names no parameter of the experiment.

    Attributes:
        name: the parameter path given (``search:threds``).
        closest: existing parameter paths closest to it.
    """

    def __init__(self, name: str, closest: Sequence[str]) -> None:
        self.name = name
        self.closest = list(closest)
        hint = f"did you mean {' or '.join('--' + c for c in self.closest)}? " if self.closest else ""
        super().__init__(
            f"--{name} names no parameter of this experiment; {hint}(pass --allow-new-params to add a new one)"
        )


class BadValue(DslError):
    """A value given on the command line (or to a node) cannot be used.

    Attributes:
        option: the option or parameter (``--tune:seeds``).
        value: the value given.
        expected: what would have been accepted.
    """

    def __init__(self, option: str, value: object, expected: str) -> None:
        self.option = option
        self.value = value
        self.expected = expected
        super().__init__(f"{option}={value!s} is not valid: expected {expected}")


class UnusedParameter(DslError):
    """A parameter given on the command line that nothing reads in this run
    (``--slurm:partition=debug`` when no sampling runs on Slurm).

    Attributes:
        option: the parameter (``--slurm:partition``).
        value: the value given.
        why: why nothing reads it, and what would.
    """

    def __init__(self, option: str, value: object, why: str) -> None:
        self.option = option
        self.value = value
        self.why = why
        super().__init__(f"{option}={value!s} does nothing: {why}")


class NoSuchRun(DslError):
    """``--resume``, ``--show`` or ``--stop`` names an experiment run that is not stored.

    Attributes:
        name: the ``exp:NAME`` asked for.
    """

    def __init__(self, name: str, option: str = "--resume", closest: Sequence[str] = (), root: str = "") -> None:
        self.name = name
        self.option = option
        self.closest = list(closest)
        self.root = root
        hint = (
            f"did you mean {' or '.join(self.closest)}?" if self.closest else "give the exp:NAME that the run printed"
        )
        where = f" under {root}" if root else ""
        super().__init__(f"{option}={name}: no such experiment run{where}; {hint}")


class ResumeMismatch(DslError):
    """A resume was asked with parameters that differ from the stored ones.

    Attributes:
        name: the ``exp:NAME``.
        differences: ``(what, stored, given)`` triples.
        command: the command line that resumes the run as it was stored.
    """

    def __init__(self, name: str, differences: Sequence[tuple[str, str, str]], command: str) -> None:
        self.name = name
        self.differences = list(differences)
        self.command = command
        shown = "; ".join(f"{what}: stored {old}, given {new}" for what, old, new in self.differences)
        super().__init__(
            f"{name} was run with other parameters ({shown}); nothing was started. To resume it as it was: {command}"
        )


class MeasureError(DslError):
    """A measure path does not apply to the results it selects from.

    Attributes:
        path: the measure path (``argmax:mean``).
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"measure {path!r}: {problem}")


class SamplingError(DslError):
    """A sampling node's search session did not give the results it needs.

    Attributes:
        session: the search session's name.
        ast_path: the node's AST path, as a label.
        traceback: the traceback of the first failure found under it (the
            innermost session's, for nested searches), or empty.
    """

    def __init__(self, session: str, ast_path: str, problem: str, traceback: str = "") -> None:
        self.session = session
        self.ast_path = ast_path
        self.problem = problem
        self.traceback = traceback
        super().__init__(f"[{ast_path}] {session}: {problem}")


class ExperimentStopped(DslError):
    """The run or one of its sub-sessions was stopped while it was evaluated.

    Attributes:
        name: the ``exp:NAME`` (or the session) that was stopped.
    """

    def __init__(self, name: str, command: str = "") -> None:
        self.name = name
        self.command = command
        resume = f"; resume it with: {command}" if command else ""
        super().__init__(f"{name} was stopped{resume}")
