"""The ``ssearch`` command: start, watch and manage search sessions.

A thin click layer over `slurm_search.session` and this package: each
command parses its arguments, calls the library and prints. The commands
live in `_cli_show` (looking) and `_cli_run` (acting); `_cli_common` turns
every error a user can cause into one line ``ssearch: error: ...``.
"""

from __future__ import annotations

import logging

import click

from . import _cli_dashboard, _cli_run, _cli_show, _cli_trials
from ._cli_common import CONTEXT, CommandGroup
from ._config import LOG_FORMAT


@click.group(cls=CommandGroup, context_settings=CONTEXT)
@click.option("-v", "--verbose", count=True, help="Log more (-v: info, -vv: debug).")
@click.version_option(
    package_name="slurm-search-session", prog_name="ssearch", message="%(prog)s %(version)s (%(package)s)"
)
def cli(verbose: int) -> None:
    """Start, watch and manage hyperparameter search sessions.

    A SESSION is named TYPE:NAME (search:lumpy_roomy_vague_army) or just NAME
    for a session of type search. Sessions live under $SLURM_SEARCH_HOME
    (default ~/hyperparameters).
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format=LOG_FORMAT)


for _command in (*_cli_show.COMMANDS, *_cli_run.COMMANDS, _cli_trials.trials, _cli_dashboard.dashboard):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """The ``ssearch`` console script."""
    cli.main(args=argv, prog_name="ssearch")


if __name__ == "__main__":
    main()
