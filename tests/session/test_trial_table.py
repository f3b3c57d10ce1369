"""Every trial out: `trial_rows`, `dataframe` and `ssearch trials` over real sessions."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from click.testing import CliRunner
from hyperopt import hp

from slurm_search import session
from slurm_search.session.workers._cli import cli

SPACE = {"x": hp.uniform("x", 0, 1), "opt": {"act": hp.choice("act", ["relu", "tanh"])}}


def _done_session(max_evals: int = 5) -> str:
    name = session.create_session("session_test_objectives:with_extras", SPACE, max_evals=max_evals, seed=3)
    before = time.time()
    session.work_on(name, worker_id="node7:123")
    assert all(r.start >= before - 1 for r in session.trial_rows(name))
    return name


def test_rows_hold_every_trial_with_its_parameters_loss_and_times():
    name = _done_session()
    rows = session.trial_rows(name)
    results = {r.tid: r for r in session.results(name)}
    assert [r.tid for r in rows] == list(range(5))
    for row in rows:
        assert (row.state, row.attempt, row.worker, row.host) == ("ok", 1, "node7:123", "node7")
        assert row.loss == results[row.tid].loss == row.params["x"]
        assert set(row.params) == {"x", "opt:act"} and row.params["opt:act"] in ("relu", "tanh")
        assert row.start <= row.end and 0 <= row.duration <= row.end - row.start + 1e-3


def test_failed_and_waiting_trials_are_rows_too():
    name = session.create_session(
        "session_test_objectives:boom", {"x": hp.uniform("x", 0, 1)}, max_evals=3,
        max_attempts=2, max_failures=0, error_attempts=2,
    )
    session.work_on(name)
    rows = session.trial_rows(name)
    assert rows and rows[0].state == "failed" and rows[0].attempt == 2
    assert rows[0].loss is None and rows[0].end is not None and rows[0].duration is not None


def test_dataframe_has_one_row_per_trial_indexed_by_tid():
    pandas = pytest.importorskip("pandas")
    name = _done_session(4)
    frame = session.dataframe(name)
    assert list(frame.index) == [0, 1, 2, 3]
    assert ["state", "attempt", "host", "worker", "loss", "duration", "start", "end"] == list(frame.columns[:8])
    assert {"params_x", "params_opt:act"} <= set(frame.columns)
    assert frame["loss"].tolist() == frame["params_x"].tolist()
    assert isinstance(frame["start"].iloc[0], pandas.Timestamp) and str(frame["start"].dt.tz) == "UTC"


def test_dataframe_without_pandas_says_how_to_install_it(monkeypatch):
    import sys

    name = _done_session(1)
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    with pytest.raises(ImportError, match="pip install pandas"):
        session.dataframe(name)


def test_ssearch_trials_table_csv_and_json():
    name = _done_session(3)
    runner = CliRunner()
    shown = runner.invoke(cli, ["trials", name])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    header = lines[0].split()
    assert header[:8] == ["TID", "STATE", "ATTEMPT", "HOST", "LOSS", "DURATION", "START", "END"]
    assert sorted(header[8:]) == ["opt:act", "x"]
    assert len(lines) == 4 and lines[1].split()[:4] == ["0", "ok", "1", "node7"]

    as_csv = runner.invoke(cli, ["trials", name, "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert [int(r["tid"]) for r in rows] == [0, 1, 2]
    assert float(rows[0]["loss"]) == float(rows[0]["params_x"]) and rows[0]["start"].endswith("+00:00")

    as_json = json.loads(runner.invoke(cli, ["trials", name, "--format=json"]).output)
    losses = {r.tid: r.loss for r in session.results(name)}
    assert [(t["tid"], t["loss"]) for t in as_json] == sorted(losses.items())
    assert set(as_json[0]["params"]) == {"x", "opt:act"}


def test_ssearch_trials_of_an_unknown_session_is_one_line():
    out = CliRunner().invoke(cli, ["trials", "no_such_session"])
    assert out.exit_code == 1 and "no session named 'search:no_such_session'" in out.output
    bad = CliRunner().invoke(cli, ["trials", "nolabel:x/y"])
    assert bad.exit_code == 1 and "not a label of a known owner type" in bad.output


def test_ssearch_dashboard_without_optuna_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "optuna", None)
    out = CliRunner().invoke(cli, ["dashboard", "--port", "0"])
    assert out.exit_code == 1
    assert out.output.strip().splitlines() == [
        "ssearch: error: ssearch dashboard needs optuna: pip install 'slurm-search-session[dashboard]' "
        "(optuna, optuna-dashboard, pandas, plotly)"
    ]


def test_ssearch_starts_without_optuna_pandas_or_torch():
    import subprocess
    import sys

    code = (
        "import sys; from slurm_search.session.workers._cli import cli; "
        "print(sorted(m for m in ('optuna', 'optuna_dashboard', 'pandas', 'plotly', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_show_and_trials_flatten_parameters_alike():
    # `ssearch show` dropped an empty dict that `ssearch trials` kept: one flattener now.
    space = {
        "x": hp.uniform("x", 0, 1),
        "empty": {},
        "opt": {"act": hp.choice("act", ["relu", "tanh"]), "sizes": [1, {"deep": 2}], "none": {}},
    }
    name = session.create_session("session_test_objectives:with_extras", space, max_evals=2, seed=3)
    session.work_on(name)
    runner = CliRunner()
    trials = json.loads(runner.invoke(cli, ["trials", name, "--format=json"]).output)
    best = min(trials, key=lambda t: t["loss"])
    shown = runner.invoke(cli, ["show", name])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"best: trial {best['tid']}"))
    params = {}
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        key, value = line.strip().split(" = ", 1)
        params[key] = value
    assert set(params) == {"x", "empty", "opt:act", "opt:sizes", "opt:none"} == set(best["params"])
    assert params["empty"] == params["opt:none"] == "{}"
    assert params["opt:sizes"] == repr(session.trial_rows(name)[best["tid"]].params["opt:sizes"])
    assert session.flatten_params({"a": {}, "b": {"c": [1, {"d": 2}]}}) == {"a": {}, "b:c": [1, {"d": 2}]}
