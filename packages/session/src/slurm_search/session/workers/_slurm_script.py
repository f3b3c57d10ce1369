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
import math
import numbers
import shlex
from collections.abc import Mapping, Sequence

from ._errors import BadSlurmOption, UnknownSlurmOption

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
    signal: str | None = None,
    requeue: bool | None = None,
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
        signal: Slurm's warning signal, ``[B:]SIG[@SECONDS]`` with SIG one
            the worker treats as a request to leave (USR1, USR2, TERM); sent
            to the worker (``B:``, the batch shell is the worker) SECONDS
            before the time limit; ``none`` asks for none. The launcher
            fills in ``B:USR1@<margin>`` when it is not given.
        requeue: ``--requeue`` (true) or ``--no-requeue`` (false): whether
            Slurm may requeue a preempted or failed job (its trials continue
            from their checkpoints either way).
        extra: more ``#SBATCH`` lines, given as their option
            (``"--mail-type=END"``); one string or a sequence.

    Returns:
        The script, ending with a newline.
    """
    if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
        raise ValueError(f"tasks must be a positive integer, not {tasks!r}")
    check_values(
        {
            "partition": partition,
            "time": time,
            "gres": gres,
            "mem": mem,
            "mem_per_cpu": mem_per_cpu,
            "cpus_per_task": cpus_per_task,
            "exclude": exclude,
            "nodelist": nodelist,
            "account": account,
            "qos": qos,
            "constraint": constraint,
            "array_parallelism": array_parallelism,
            "signal": signal,
            "requeue": requeue,
            "extra": extra,
        }
    )
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
    if signal is not None and normal_signal(signal) is not None:
        directives.append(f"--signal={normal_signal(signal)}")
    if requeue is not None:
        directives.append("--requeue" if _boolean("requeue", requeue) else "--no-requeue")
    directives += [extra] if isinstance(extra, str) else list(extra)
    for directive in directives:
        # One option per line: a newline would smuggle in another directive
        # or a command. (The user's values were checked above; this guards
        # the job's own facts: the log folder and the job name.)
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
    """Refuse unknown Slurm option names and values that are not one word.

    Dashes are accepted for underscores (``cpus-per-task``); callers normalise
    with `normalise_options` first. See `check_values` for the values.

    Raises:
        UnknownSlurmOption: with the unknown names and the valid ones.
        BadSlurmOption: a value that is not one word, or not of its kind.
    """
    valid = valid_options()
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UnknownSlurmOption(unknown, valid)
    check_values(options)


def normalise_options(options: Mapping[str, object] | None) -> dict[str, object]:
    """Options with ``-`` in names turned into ``_``, checked.

    Raises:
        UnknownSlurmOption: an option `batch_script` does not know.
        BadSlurmOption: a value `check_values` refuses.
    """
    if options is not None and not isinstance(options, Mapping):
        raise BadSlurmOption("slurm", options, "the Slurm options are a dict of NAME: VALUE")
    normal = {str(key).replace("-", "_"): value for key, value in (options or {}).items()}
    check_options(normal)
    return normal


def check_slurm_options(options: Mapping[str, object] | None) -> dict[str, object]:
    """The Slurm options as `launch(..., slurm=options)` would use them, checked.

    For callers outside this package (``run_exp``) that want to refuse bad
    options before they store anything.

    Raises:
        UnknownSlurmOption, BadSlurmOption: as `normalise_options`.
    """
    return normalise_options(options)


# sbatch options that the script sets itself: the logs must stay in the
# session's folder (`ssearch logs` reads them there) and the array is the
# workers. `extra` may not set these, nor an option of its own name.
_OWN_DIRECTIVES = ("job-name", "array", "output", "error")


def _word_problem(text: str) -> str | None:
    """Why ``text`` is not one word for sbatch, or None."""
    if not text:
        return "the value is empty; leave the option out instead"
    if "\n" in text or "\r" in text:
        return "the value contains a line break, which would start another #SBATCH line; give one word"
    if any(char.isspace() or not char.isprintable() for char in text):
        return (
            "the value must be one word, without spaces or control characters "
            "(sbatch would read the rest as more options); give one word"
        )
    return None


def _one_word(option: str, value: object) -> str:
    """``value`` as the text of one sbatch argument, or BadSlurmOption."""
    if isinstance(value, bool) or not isinstance(value, (str, numbers.Real)):
        raise BadSlurmOption(option, value, "give a word or a number")
    if isinstance(value, numbers.Real) and not math.isfinite(value):
        raise BadSlurmOption(option, value, "give a finite number")
    text = str(value)
    problem = _word_problem(text)
    if problem:
        raise BadSlurmOption(option, value, problem)
    if text.startswith("-"):
        raise BadSlurmOption(
            option, value, "the value starts with '-', so sbatch would read it as an option; give the value only"
        )
    return text


def _check_extra(extra: object) -> None:
    items = [extra] if isinstance(extra, str) else extra
    if not isinstance(items, Sequence):
        raise BadSlurmOption("extra", extra, "give sbatch options such as --mail-type=END, one per --slurm:extra=")
    named = tuple(name.replace("_", "-") for name in script_options() if name not in ("extra", "array_parallelism"))
    for item in items:
        if not isinstance(item, str) or not item.startswith("--") or item[2:3] in ("", "-", "="):
            raise BadSlurmOption("extra", item, "each extra sbatch argument is one long option, e.g. --mail-type=END")
        problem = _word_problem(item)
        if problem:
            raise BadSlurmOption("extra", item, problem)
        name = item[2:].partition("=")[0]
        # sbatch accepts an unambiguous prefix of an option's name (--out=...).
        if any(own.startswith(name) for own in _OWN_DIRECTIVES):
            raise BadSlurmOption(
                "extra",
                item,
                "slurm-search sets --job-name, --array, --output and --error itself (the logs "
                "stay in the session's folder: see `ssearch logs`); leave it out",
            )
        taken = [own for own in named if own.startswith(name)]
        if taken:
            raise BadSlurmOption(
                "extra", item, f"set it with its own option: --slurm:{taken[0].replace('-', '_')}=VALUE"
            )


def check_values(options: Mapping[str, object]) -> None:
    """Refuse Slurm option values that the batch script cannot hold as given.

    Every value (``None``: left out) becomes the value of one ``#SBATCH``
    option, so it must be one word: no whitespace, line break or control
    character, not empty, not starting with ``-`` (sbatch would take it for
    another option). ``extra`` is a string or a list of long options
    (``--mail-type=END``), each one word, none of those the script sets
    itself (``--output``, ``--error``, ``--array``, ``--job-name``) nor one
    that has its own name here. ``array_parallelism`` and ``generations`` are
    integers >= 1; ``margin`` is a finite number of seconds >= 0.

    Raises:
        BadSlurmOption: the first value refused, naming the option.
    """
    for option, value in options.items():
        if value is None:
            continue
        if option == "extra":
            _check_extra(value)
        elif option in ("array_parallelism", "generations"):
            text = _one_word(option, value)
            if isinstance(value, float) or not (text.isascii() and text.isdigit()) or int(text) < 1:
                raise BadSlurmOption(option, value, "give a whole number >= 1")
        elif option == "signal":
            normal_signal(value)
        elif option == "requeue":
            _boolean(option, value)
        elif option == "margin":
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
                raise BadSlurmOption(option, value, "give a number of seconds >= 0")
        else:
            _one_word(option, value)


# The signals the worker takes as a request to leave (slurm_search.session's
# LEAVE_SIGNALS), as sbatch names them.
LEAVE_SIGNAL_NAMES = ("USR1", "USR2", "TERM")
_MAX_SIGNAL_LEAD = 65535  # sbatch's limit on --signal's @seconds


def normal_signal(value: object) -> str | None:
    """``B:SIG@SECONDS`` for a `signal` option, or None for ``none``; BadSlurmOption otherwise.

    Accepted: ``[B:]SIG[@SECONDS]`` where SIG is USR1, USR2 or TERM (``SIG``
    prefix and any case allowed) and SECONDS a whole number 0..65535
    (default 60, sbatch's); ``none``. Refused: ``R:`` (the worker runs no job
    step), other signals (the worker would die of them), ``@`` without a whole
    number, anything sbatch would read otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        raise BadSlurmOption("signal", value, "give [B:]SIG[@SECONDS], e.g. B:USR1@120, or none")
    text = value.strip()
    if text.lower() == "none":
        return None
    body = text[2:] if text[:2].upper() == "B:" else text
    if body[:2].upper() == "R:":
        raise BadSlurmOption("signal", value, "R: signals job steps, and the worker runs none: use B:SIG@SECONDS")
    sig, at, lead = body.partition("@")
    name = sig.upper().removeprefix("SIG")
    if name not in LEAVE_SIGNAL_NAMES:
        leaves_on = ", ".join(LEAVE_SIGNAL_NAMES)
        raise BadSlurmOption("signal", value, f"give a signal the worker leaves on: {leaves_on} (e.g. B:USR1@120)")
    if at:
        if not (lead.isascii() and lead.isdigit()) or int(lead) > _MAX_SIGNAL_LEAD:
            raise BadSlurmOption("signal", value, f"@SECONDS must be a whole number of seconds 0..{_MAX_SIGNAL_LEAD}")
        return f"B:{name}@{int(lead)}"
    return f"B:{name}"


def _boolean(option: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadSlurmOption(option, value, "give true or false")


def time_seconds(value: object) -> int | None:
    """Seconds of an sbatch ``--time`` value (``M``, ``M:S``, ``H:M:S``, ``D-H``, ``D-H:M``, ``D-H:M:S``), or None."""
    text = str(value).strip()
    days = 0
    if "-" in text:
        head, _, text = text.partition("-")
        if not head.isdigit():
            return None
        days = int(head)
        parts = text.split(":")
        if not all(p.isdigit() for p in parts) or len(parts) > 3:
            return None
        h, m, sec = ([*map(int, parts), 0, 0])[:3]
        return ((days * 24 + h) * 60 + m) * 60 + sec
    parts = text.split(":")
    if not all(p.isdigit() for p in parts) or not 1 <= len(parts) <= 3:
        return None
    nums = list(map(int, parts))
    if len(nums) == 1:
        return nums[0] * 60
    if len(nums) == 2:
        return nums[0] * 60 + nums[1]
    return (nums[0] * 60 + nums[1]) * 60 + nums[2]


def split_options(options: Mapping[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """Split checked options into (sbatch script options, run options with defaults)."""
    script = {key: value for key, value in options.items() if key not in RUN_OPTIONS}
    run = {key: options.get(key, default) for key, default in RUN_OPTIONS.items()}
    return script, run
