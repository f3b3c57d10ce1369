"""The rl package's exceptions: one base type, and one type per mistake a
user can make, each carrying what it is about and reading as one line that
names the valid choices."""

from __future__ import annotations

from slurm_search.locking import SlurmSearchError

__all__ = [
    "BadRunParams",
    "CheckpointMismatch",
    "RLError",
    "UnknownAgent",
    "UnknownEnvironment",
    "UnknownHyperparameter",
]


class RLError(SlurmSearchError):
    """Base class of the errors of ``slurm_search.rl``."""


class UnknownAgent(RLError, ValueError):
    """The agent name names no preset.

    Attributes:
        agent: the name given.
        choices: the valid names.
    """

    def __init__(self, agent: str, choices: list[str]) -> None:
        self.agent = agent
        self.choices = list(choices)
        super().__init__(agent, self.choices)

    def __str__(self) -> str:
        return f"unknown agent {self.agent!r}: use one of {', '.join(self.choices)}"


class UnknownEnvironment(RLError, ValueError):
    """The environment name names no environment.

    Attributes:
        env: the name given.
        choices: the valid forms (and known names, where they can be listed).
    """

    def __init__(self, env: str, choices: list[str], reason: str = "") -> None:
        self.env = env
        self.choices = list(choices)
        self.reason = reason
        super().__init__(env, self.choices, reason)

    def __str__(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return f"unknown environment {self.env!r}{why}: use one of {', '.join(self.choices)}"


class UnknownHyperparameter(RLError, KeyError):
    """A hyperparameter that the agent's preset does not take.

    Attributes:
        agent: the agent name.
        names: the hyperparameters the preset does not take.
        choices: the hyperparameters it takes.
    """

    def __init__(self, agent: str, names: list[str], choices: list[str]) -> None:
        self.agent = agent
        self.names = list(names)
        self.choices = list(choices)
        super().__init__(agent, self.names, self.choices)

    def __str__(self) -> str:
        which = ", ".join(repr(name) for name in self.names)
        return (
            f"agent {self.agent!r} takes no hyperparameter {which}: "
            f"use some of {', '.join(self.choices)}"
        )


class BadRunParams(RLError, ValueError):
    """``run_params`` (or the seed) holds a key or a value that cannot run.

    Attributes:
        key: the offending key.
        value: its value.
        expected: what would have been accepted.
    """

    def __init__(self, key: str, value: object, expected: str) -> None:
        self.key = key
        self.value = value
        self.expected = expected
        super().__init__(key, value, expected)

    def __str__(self) -> str:
        return f"{self.key}={self.value!r} is not valid: expected {self.expected}"


class UnwritableLogdir(RLError, OSError):
    """The TensorBoard log folder cannot be created or written.

    Attributes:
        folder: the folder.
        source: where it came from (``SLURM_SEARCH_RL_LOGDIR=...``, ``run:logdir=...``, the default).
        reason: what the filesystem said.
    """

    def __init__(self, folder: str, source: str, reason: str) -> None:
        super().__init__(folder, source, reason)
        self.folder = folder
        self.source = source
        self.reason = reason

    def __str__(self) -> str:
        return (
            f"cannot write TensorBoard logs to {self.folder} ({self.source}): {self.reason}; "
            "point it at a writable folder"
        )


class CheckpointMismatch(RLError, ValueError):
    """A run's checkpoint does not fit the agent built now (another preset,
    other hyperparameters, another version of ALL): the run starts afresh."""
