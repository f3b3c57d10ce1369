"""``ssearch dashboard``: optuna-dashboard over a read-only view of the store.

optuna and optuna-dashboard are the ``[dashboard]`` extra of this package;
they are imported when the command runs, never by ``ssearch`` itself.
Without them the command says, in one line, how to install them.
"""

from __future__ import annotations

import click

from ._cli_common import CONTEXT

LOOPBACK = ("127.0.0.1", "localhost", "::1")

INSTALL = "pip install 'slurm-search-session[dashboard]' (optuna, optuna-dashboard, pandas, plotly)"


@click.command("dashboard", context_settings=CONTEXT)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="The port to serve on.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to bind: 127.0.0.1 lets only this machine in (use an ssh tunnel, see the README).",
)
@click.option(
    "--inner",
    is_flag=True,
    help="Also list experiments' inner sub-sessions (one search per setting or seed) on the home page.",
)
def dashboard(port: int, host: str, inner: bool) -> None:
    """Serve a live dashboard of every session (optuna-dashboard), read-only.

    Each session is a study (an experiment's sessions are named by their
    labels, exp:NAME/best_xy/argmax:mean): its trials, loss history with the
    best so far, each hyperparameter against the loss, parallel coordinates
    and importances. Pages follow running searches; nothing is written to
    the store. The home page lists an experiment's outer sessions (--inner:
    every sub-session). From your laptop: ssh -L 8080:127.0.0.1:8080 LOGIN_NODE, then
    open http://127.0.0.1:8080/.
    """
    try:
        import optuna  # noqa: F401
        import optuna_dashboard  # noqa: F401
    except ImportError as err:
        raise click.ClickException(f"ssearch dashboard needs {err.name or 'optuna-dashboard'}: {INSTALL}") from None
    from ._dashboard_server import make_server

    try:
        server = make_server(host=host, port=port, inner=inner)
    except OSError as err:
        raise click.ClickException(
            f"cannot serve on {host}:{port}: {err.strerror or err}; pick another --port (or --host)"
        ) from None
    bound = server.server_address[1]
    click.echo(f"dashboard of {_root()} on http://{host}:{bound}/ (read-only; Ctrl-C stops it)", err=True)
    if host not in LOOPBACK:
        click.echo(
            f"note: bound to {host}, not 127.0.0.1: anyone who can reach this port sees every session "
            "(an ssh tunnel to 127.0.0.1 keeps it private, see the README)",
            err=True,
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _root() -> str:
    from slurm_search import state

    return str(state.root())
