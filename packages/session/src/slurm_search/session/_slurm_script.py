"""The Slurm batch script of a session's worker array, as one pure function.

`batch_script` turns the facts of one submission (the worker command, the log
folder, the number of tasks, the environment to export) and the user's Slurm
options into the text of an sbatch script. Its keyword-only parameters ARE the
list of valid Slurm options: `check_options` refuses any other name and lists
them, so adding an option is adding a parameter here. Nothing about one
cluster (partition names, limits, node names) is written in this module; it
all comes from the options. The golden-file test pins the output.
"""

from __future__ import annotations

import inspect
import shlex
from collections.abc import Mapping, Sequence

from ._launch_errors import UnknownSlurmOption

# Options that shape the run of a generational search but are not sbatch
# directives; they travel with the Slurm options so that one `--slurm:` prefix
# covers everything about Slurm.
#   generations: how many array jobs in a row may continue a search that
#       outlives the time limit (the first included).
#   margin: seconds before the job's end time at which a worker stops
#       claiming trials and hands over to the next generation.
RUN_OPTIONS: dict[str, object] = {"generations": 10, "margin": None}


def batch_script(
    command: Sequence[str],
    *,
    logs: str,
    job_name: str,
    tasks: int,
    environment: Mapping[str, str],
    partition: str | None = None,
    time: str | int | None = None,
    gres: str | None = None,
    mem: str | None = None,
    mem_per_cpu: str | None = None,
    cpus_per_task: int | str | None = None,
    exclude: str | None = None,
    nodelist: str | None = None,
    account: str | None = None,
    qos: str | None = None,
    constraint: str | None = None,
    array_parallelism: int | str | None = None,
    extra: Sequence[str] | str = (),
) -> str:
    """The text of the sbatch script that runs ``command`` as an array of ``tasks``.

    Pure: the same arguments give the same text.

    Args:
        command: the worker's argument list, run with ``exec`` (each argument
            shell-quoted).
        logs: folder of the per-task output (``%A_%a.out``) and errors
            (``%A_%a.err``).
        job_name: Slurm's job name.
        tasks: number of array tasks (``--array=0-<tasks-1>``).
        environment: variables exported by the script before the command
            (e.g. ``SLURM_SEARCH_HOME``), so the job finds the same store.
        partition, time, gres, mem, mem_per_cpu, cpus_per_task, exclude,
        nodelist, account, qos, constraint: the sbatch option of the same
            name (underscores become dashes); ``None`` leaves it out.
        array_parallelism: at most this many tasks run at once (``%N``).
        extra: more ``#SBATCH`` lines, given as their option
            (``"--mail-type=END"``); one string or a sequence.

    Returns:
        The script, ending with a newline.
    """
    if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
        raise ValueError(f"tasks must be a positive integer, not {tasks!r}")
    array = f"0-{tasks - 1}"
    if array_parallelism is not None:
        array += f"%{array_parallelism}"
    directives = [
        f"--job-name={job_name}",
        f"--array={array}",
        f"--output={logs}/%A_%a.out",
        f"--error={logs}/%A_%a.err",
    ]
    named = {
        "partition": partition,
        "time": time,
        "gres": gres,
        "mem": mem,
        "mem-per-cpu": mem_per_cpu,
        "cpus-per-task": cpus_per_task,
        "exclude": exclude,
        "nodelist": nodelist,
        "account": account,
        "qos": qos,
        "constraint": constraint,
    }
    directives += [f"--{key}={value}" for key, value in named.items() if value is not None]
    directives += [extra] if isinstance(extra, str) else list(extra)
    for directive in directives:
        # One option per line: a newline would smuggle in another directive
        # or a command.
        if "\n" in directive or "\r" in directive:
            raise ValueError(f"a Slurm option may not contain a line break: {directive!r}")
    lines = ["#!/bin/bash", "# Written by slurm-search; submitted with sbatch --parsable."]
    lines += [f"#SBATCH {directive}" for directive in directives]
    lines += [f"export {key}={shlex.quote(str(value))}" for key, value in sorted(environment.items())]
    lines.append("exec " + " ".join(shlex.quote(str(arg)) for arg in command))
    return "\n".join(lines) + "\n"


def script_options() -> tuple[str, ...]:
    """The Slurm options `batch_script` accepts: its keyword parameters with defaults."""
    return tuple(
        name
        for name, param in inspect.signature(batch_script).parameters.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY and param.default is not inspect.Parameter.empty
    )


def valid_options() -> tuple[str, ...]:
    """Every accepted Slurm option: the script's and the generational run's."""
    return script_options() + tuple(RUN_OPTIONS)


def check_options(options: Mapping[str, object]) -> None:
    """Refuse unknown Slurm option names.

    Dashes are accepted for underscores (``cpus-per-task``); callers normalise
    with `normalise_options` first.

    Raises:
        UnknownSlurmOption: with the unknown names and the valid ones.
    """
    valid = valid_options()
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UnknownSlurmOption(unknown, valid)


def normalise_options(options: Mapping[str, object] | None) -> dict[str, object]:
    """Options with ``-`` in names turned into ``_``, checked.

    Raises:
        UnknownSlurmOption: an option `batch_script` does not know.
    """
    normal = {str(key).replace("-", "_"): value for key, value in (options or {}).items()}
    check_options(normal)
    return normal


def split_options(options: Mapping[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """Split checked options into (sbatch script options, run options with defaults)."""
    script = {key: value for key, value in options.items() if key not in RUN_OPTIONS}
    run = {key: options.get(key, default) for key, default in RUN_OPTIONS.items()}
    return script, run
