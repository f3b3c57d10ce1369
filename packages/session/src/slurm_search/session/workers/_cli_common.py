"""What every ``ssearch`` command shares: settings, one-line errors, names.

Every error a user can cause (`SessionError`, the store's `StateError`, a
lock error, a malformed argument, a full or read-only store) ends as one line
``ssearch: error: ...`` on stderr and a non-zero exit, without a traceback.
"""

from __future__ import annotations

from typing import Any

import click

from slurm_search import state
from slurm_search.session import SlurmSearchError, flatten_params, progress, resolve_label

from ._cli_args import BadArgument, CommandError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
ASSIGNMENTS = dict(CONTEXT, ignore_unknown_options=True, allow_extra_args=True)
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (SlurmSearchError,)

# click >= 8.2 shows the help through this UsageError when no argument is given.
_NO_ARGS_IS_HELP: tuple[type[BaseException], ...] = tuple(
    getattr(click.exceptions, name) for name in ("NoArgsIsHelpError",) if hasattr(click.exceptions, name)
)


class CommandGroup(click.Group):
    """Turns the library's errors into one line and exit status 1."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        # Commands are spelled with underscores (work_on); dashes work too.
        return super().get_command(ctx, cmd_name) or super().get_command(ctx, cmd_name.replace("-", "_"))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except _NO_ARGS_IS_HELP:
            raise  # `ssearch` alone prints its help
        except click.UsageError as err:
            raise one_line(err, ctx) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EXPECTED_ERRORS as err:
            raise CommandError(str(err)) from None
        except CommandError:
            raise
        except click.UsageError as err:
            raise one_line(err, ctx) from None
        except click.ClickException as err:
            raise CommandError(err.format_message()) from None
        except OSError as err:  # a full or read-only store: one line, not a traceback
            wrapped = state.store_os_error(err)
            if wrapped is None:
                raise
            raise CommandError(str(wrapped)) from None


def one_line(err: click.UsageError, ctx: click.Context) -> click.ClickException:
    """A bad option value or a missing argument (--workers=0, --method=gpu) as
    one line, like every other mistake, rather than click's usage lines."""
    where = err.ctx.command_path if err.ctx is not None else ctx.command_path
    message = err.format_message().rstrip(".")
    return BadArgument(f"{message} (see `{where} --help`)")


def existing(text: str) -> str:
    """The full name of an existing session, named as `list` prints it: its
    name, or an experiment's label (``exp:NAME/best_xy``). UnknownSession
    (with close names) or UnknownLabel (with the labels) otherwise."""
    name = resolve_label(text)
    progress(name)
    return name


def best_line(name: str) -> str | None:
    """``best: trial 3, loss -0.03012, x=0.2991, y=-1.5`` (the whole params), or None before any ok trial."""
    from slurm_search.session import best

    try:
        found = best(name, load=False)  # only its params and loss are printed
    except SlurmSearchError:  # a summary line is not worth failing the command for
        return None
    if found is None:
        return None
    params = ", ".join(f"{key}={number(value)}" for key, value in flatten_params(found.params).items())
    return f"best: trial {found.tid}, loss {number(found.loss)}" + (f", {params}" if params else "")


def number(value: Any) -> str:
    """A value for people: a float to 6 significant digits, never cut (``-0.0301235``)."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value) if isinstance(value, str) else str(value)


def summary_line(now: Any) -> str:
    """``3/10 done, 1 failed (running)``; ``, 4 pruned`` after the failed ones if any."""
    pruned = getattr(now, "pruned", 0)
    more = f", {pruned} pruned" if pruned else ""
    return f"{now.completed}/{now.max_evals} done, {now.failed} failed{more} ({now.status})"
