"""Parsing ``ssearch`` arguments: ``key=value`` settings and ``--slurm:`` options.

Pure functions: tokens in, dicts out, `BadArgument` (one line, exit status
2) for a malformed token. ``a:b=v`` sets a nested key (``{"a": {"b": v}}``). Values are read
by `slurm_search.session.parse_value`, the grammar run_exp shares: ``true``/``false``,
``none``, ``inf``, integers, floats, Python lists, tuples and dicts, ``1,2`` as a list;
anything else stays a string.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from slurm_search.session import InvalidValue
from slurm_search.session import parse_value as core_parse_value

SLURM_PREFIX = "--slurm:"


class CommandError(click.ClickException):
    """A mistake or a failure, printed as one line ``ssearch: error: ...``; exit status 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"ssearch: error: {self.format_message()}", err=True)


class BadArgument(CommandError):
    """A malformed command-line argument: one line on stderr, exit status 2.

    (click's UsageError would print the usage lines too; the message names
    the argument and how to write it, which is what a user needs.)
    """

    exit_code = 2


def parse_value(text: str) -> Any:
    """The value a ``key=value`` token means (`slurm_search.session.parse_value`, whose grammar
    run_exp shares); a malformed literal is a `BadArgument`."""
    try:
        return core_parse_value(text)
    except InvalidValue as err:
        raise BadArgument(str(err)) from None


def _split(token: str, what: str) -> tuple[list[str], str]:
    key, sep, value = token.partition("=")
    if not sep or not key:
        raise BadArgument(f"malformed {what} {token!r}: write KEY=VALUE (nested: A:B=VALUE)")
    path = key.split(":")
    if any(not part for part in path):
        raise BadArgument(f"malformed {what} {token!r}: empty part in the key {key!r}")
    return path, value


def _put(target: dict, path: list[str], value: Any, token: str) -> None:
    node = target
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise BadArgument(f"{token!r} sets a key inside {part!r}, which is already set to a value")
        node = child
    if isinstance(node.get(path[-1]), dict):
        raise BadArgument(f"{token!r} replaces the nested settings under {path[-1]!r}")
    if path[-1] in node:  # the last would win without a word
        raise BadArgument(f"{':'.join(path)} is given twice: give it once")
    node[path[-1]] = value


def parse_assignments(tokens: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split tokens into (settings, Slurm options).

    ``key=value`` and ``a:b=value`` go to settings; ``--slurm:key=value`` to
    the Slurm options (``--slurm:extra=…`` may repeat and collects a list).

    Raises:
        BadArgument: a token that is neither, or malformed, or a key given twice.
    """
    settings: dict[str, Any] = {}
    slurm: dict[str, Any] = {}
    for token in tokens:
        if token.startswith(SLURM_PREFIX):
            path, value = _split(token[len(SLURM_PREFIX):], "Slurm option")
            if len(path) != 1:
                raise BadArgument(f"malformed Slurm option {token!r}: write --slurm:NAME=VALUE")
            key = path[0].replace("-", "_")
            if key in slurm and key != "extra":
                raise BadArgument(f"--slurm:{path[0]} is given twice: give it once")
            if key == "extra":
                slurm.setdefault("extra", []).append(value)
            else:
                # Slurm options stay strings ("1:00:00", "4G"), but counts
                # read as numbers for the options that are numbers.
                slurm[key] = parse_value(value) if key in ("generations", "margin") else value
        elif token.startswith("-"):
            raise BadArgument(f"unknown option {token!r}: see --help (Slurm options are --slurm:NAME=VALUE)")
        else:
            path, value = _split(token, "setting")
            _put(settings, path, parse_value(value), token)
    return settings, slurm

