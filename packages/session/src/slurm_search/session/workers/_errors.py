"""Errors of launching workers (local processes, Slurm) and of session types.

Each reads as one line that names the problem and the way out; the `ssearch`
command prints exactly that line. They derive from `SessionError`, which also
makes them survive pickling.
"""

from __future__ import annotations

from collections.abc import Sequence

from slurm_search.session import SessionError


class LaunchError(SessionError):
    """Workers could not be launched or did not finish their work."""


class UnknownSlurmOption(LaunchError, ValueError):
    """A Slurm option the batch script builder does not know.

    Attributes:
        options: the unknown names.
        valid: every valid name.
    """

    def __init__(self, options: Sequence[str], valid: Sequence[str]) -> None:
        self.options = list(options)
        self.valid = list(valid)
        super().__init__(
            f"unknown Slurm option{'s' if len(self.options) > 1 else ''} {', '.join(self.options)}; "
            f"valid options: {', '.join(self.valid)}"
        )



class BadSlurmOption(LaunchError, ValueError):
    """A Slurm option whose value cannot go into the batch script as given.

    Each value becomes one ``#SBATCH --name=value`` line, so it must be one
    word: a space, a line break or a leading ``-`` would let it add options
    of its own (another ``--output``, a command).

    Attributes:
        option: the option's name (``time``, ``extra``...).
        value: the value given.
        reason: what is wrong with it and what to give instead.
    """

    def __init__(self, option: str, value: object, reason: str) -> None:
        self.option = option
        self.value = value
        self.reason = reason
        super().__init__(f"invalid Slurm option {option}={value!r}: {reason}")


class SlurmNotFound(LaunchError):
    """A Slurm command (``sbatch``, ``scancel``...) is not on PATH.

    Attributes:
        command: the missing command.
    """

    def __init__(self, command: str) -> None:
        self.command = command
        super().__init__(
            f"{command} not found on PATH: Slurm is not available here; "
            "use --method=cpu (local processes) or --method=inline"
        )



class SlurmCommandError(LaunchError):
    """A Slurm command failed or answered something unexpected.

    Attributes:
        argv: the command line.
        returncode: its exit status.
        output: what it said (stderr, else stdout), stripped.
    """

    def __init__(self, argv: Sequence[str], returncode: int, output: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.output = output
        command = self.argv[0].rsplit("/", 1)[-1] if self.argv else "Slurm"
        said = " / ".join(line.strip() for line in output.splitlines() if line.strip()) or "nothing"
        super().__init__(f"{command} failed (exit {returncode}): {said}")


class SubmissionError(SlurmCommandError):
    """``sbatch`` refused a job or answered something that is not a job id."""


class WorkersFailed(LaunchError):
    """Every worker ended but the session is not done.

    Attributes:
        name: the session.
        detail: what went wrong (exit codes, where the logs are).
    """

    def __init__(self, name: str, detail: str) -> None:
        self.name = name
        self.detail = detail
        super().__init__(f"workers of {name} ended before it was done: {detail}")


class WorkersLeft(WorkersFailed):
    """Every worker was told to leave (a signal) and left; their trials wait for the next worker.

    Not a failure of the workers: they handed their trials back (see the
    session core's `should_stop`). Continue with `ssearch restart NAME` (or
    `run_exp --resume` for an experiment).
    """

    def __init__(self, name: str) -> None:
        super().__init__(
            name,
            "they were told to leave (a signal) and handed their trials back; continue with "
            f"`ssearch restart {name}` (for an experiment's session: `run_exp --resume=exp:NAME`)",
        )



class UnknownSessionType(LaunchError, LookupError):
    """No session type of that name is registered.

    Attributes:
        type_name: the name asked for.
        valid: the registered names.
    """

    def __init__(self, type_name: str, valid: Sequence[str]) -> None:
        self.type_name = type_name
        self.valid = list(valid)
        names = ", ".join(self.valid) or "none (install a package that registers some)"
        super().__init__(
            f"unknown session type {type_name!r}; valid types: {names}; or your own objective as "
            "MODULE:FUNCTION (`ssearch start mymod:objective` in the folder of mymod.py)"
        )



class BadSessionParameters(LaunchError, ValueError):
    """A session type refused its parameters.

    Attributes:
        type_name: the session type.
        detail: what is wrong.
    """

    def __init__(self, type_name: str, detail: str) -> None:
        self.type_name = type_name
        self.detail = detail
        super().__init__(f"session type {type_name!r}: {detail}")

