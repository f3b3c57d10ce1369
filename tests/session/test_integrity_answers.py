"""Wrong answers that listings gave (issue 21): signs and labels, and results that hold the user's classes.

- A session records its goal: listings show the value the user's objective
  returned, in its sign, with its direction (`ssearch list`, `show`,
  `trials`, the dashboard); a session that optimises nothing (a DSL random
  sampling) shows no best, not the placeholder 0.
- A result holding an instance of a class from the user's module is read
  without that module (`ssearch list --all`, `show`, `trials`, `progress`
  run anywhere), and the stand-in is never stored in its place.

Real commands (`run_exp`, `ssearch` as processes), real stores.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _cli_helpers import assert_one_line_error, ssearch
from hyperopt import hp

from slurm_search import session, state
from slurm_search.session._events import Created, Spec

RUN_EXP = Path(sys.executable).parent / "run_exp"


def _run_demo(*args: str) -> str:
    proc = subprocess.run(
        [str(RUN_EXP), "demo", "--debug=true", "--seed=3", *args],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def _sessions_by_label() -> dict[str, str]:
    return {found.label.split("/", 1)[1]: name for name, found in session.labelled().items()}


def test_a_maximising_run_is_listed_with_the_value_it_printed_and_random_sessions_with_no_best():
    out = _run_demo()
    labels = _sessions_by_label()
    tuning = labels["best_xy/argmax:mean"]
    # What the user's objective returned: each setting's mean over seeds; the best is the highest.
    means = {r.tid: r.result["value"]["mean"] for r in session.results(tuning)}
    best_tid = max(means, key=lambda tid: means[tid])
    best = means[best_tid]
    assert f"best mean {best:.4g}" in out  # what run_exp printed

    listed = ssearch("list", "--all", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows[tuning]["goal"] == "max" and rows[tuning]["best"] == pytest.approx(best)
    inner = [name for label, name in labels.items() if "/@" in label or label.endswith("use_val")]
    assert inner and all(rows[name]["best"] is None and rows[name]["goal"] == "none" for name in inner)

    table = ssearch("list", "--all").stdout.splitlines()
    line = next(line for line in table if line.startswith(tuning + " "))
    assert f" {best:.6g} (max) " in line  # not the internal loss, minus it
    assert f" {-best:.6g} " not in line
    for name in inner:
        cells = next(line for line in table if line.startswith(name + " ")).split()
        assert cells[-3] == "-"  # BEST (then the created date and time): no placeholder 0

    shown = ssearch("show", tuning)
    assert shown.returncode == 0, shown.stderr
    assert "  goal: max" in shown.stdout
    assert f"best: trial {best_tid}, value {best:.6g}" in shown.stdout
    assert "value (max: higher is better)" in shown.stdout
    as_json = json.loads(ssearch("show", tuning, "--json").stdout)
    assert as_json["best"]["value"] == pytest.approx(best) and as_json["best"]["tid"] == best_tid
    assert as_json["value"]["max"] == pytest.approx(best)
    random_shown = ssearch("show", inner[0])
    assert "values: none" in random_shown.stdout and "best: trial" not in random_shown.stdout

    trials = ssearch("trials", tuning).stdout.splitlines()
    assert trials[0].split()[4] == "VALUE(MAX)"
    as_rows = json.loads(ssearch("trials", tuning, "--format", "json").stdout)
    assert {row["tid"]: row["value"] for row in as_rows} == pytest.approx(means)
    assert all(row["goal"] == "max" for row in as_rows)
    random_rows = ssearch("trials", inner[0]).stdout.splitlines()
    assert all(line.split()[4] == "-" for line in random_rows[1:])


def test_the_dashboard_maximises_a_maximising_session_in_the_users_sign():
    pytest.importorskip("optuna")
    from optuna.study import StudyDirection

    from slurm_search.session.dashboard import SessionStorage

    _run_demo()
    tuning = _sessions_by_label()["best_xy/argmax:mean"]
    means = {r.tid: r.result["value"]["mean"] for r in session.results(tuning)}
    storage = SessionStorage()
    study_id = storage.get_study_id_from_name(tuning)
    assert storage.get_study_directions(study_id) == [StudyDirection.MAXIMIZE]
    values = {t.number: t.value for t in storage.get_all_trials(study_id)}
    assert values == pytest.approx(means)
    attrs = storage.get_study_user_attrs(study_id)
    assert attrs["goal"] == "max" and attrs["best_value"] == pytest.approx(max(means.values()))


def test_a_goal_accepts_exactly_its_words():
    failed = ssearch("start", "demo", "max_evals=2", "goal=MAX", "--method=inline")
    assert_one_line_error(failed.returncode, failed.stdout, failed.stderr, "goal", "min, max or none")
    for wrong in ("maximize", "MIN", 1, None):
        with pytest.raises(session.InvalidSetting, match="goal"):
            session.create_session("slurm_search.session.demo:objective", {"x": hp.uniform("x", 0, 1)},
                                   max_evals=2, goal=wrong)
    assert state.names() == []  # nothing created


class _OldSpec:
    """Pickles as a `Spec` of the fields written before goals (its bytes are an older log's)."""

    def __init__(self, spec: Spec) -> None:
        self.fields = tuple(spec)[: Spec._fields.index("goal")]

    def __reduce__(self):
        return Spec, self.fields


def test_a_log_written_before_goals_reads_as_before():
    space = pickle.dumps({"x": hp.uniform("x", 0, 1)})
    spec = Spec("slurm_search.session.demo:objective", space, "rand", 2, 1, created=1.0, max_failures=0)
    state.create("search:old", _OldSpec(spec))
    state.append("search:old", Created(_OldSpec(spec)))
    assert session.info("search:old").goal == "min"
    session.work_on("search:old")
    best = session.best("search:old").loss
    row = {r["name"]: r for r in json.loads(ssearch("list", "--all", "--json").stdout)}["search:old"]
    assert (row["goal"], row["best"]) == ("min", pytest.approx(best))


# -- results that hold the user's own classes --------------------------------------

USER_MODULE = textwrap.dedent(
    '''
    class Box:
        """A class of the user's own: only this folder's module defines it."""

        def __init__(self, v):
            self.v = v


    def objective(params, context):
        return {"loss": params["x"] ** 2, "box": Box(params["x"])}
    '''
)


def _python(code: str, cwd: Path) -> str:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(cwd), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("checkpoint", [True, False], ids=["with-checkpoint", "log-only"])
def test_listings_never_need_the_users_code(tmp_path, checkpoint):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "boxes.py").write_text(USER_MODULE)
    _python(
        "from hyperopt import hp\nfrom slurm_search import session\n"
        "n = session.create_session('boxes:objective', {'x': hp.uniform('x', -1, 1)}, max_evals=4, seed=1,"
        " name='search:boxes')\n"
        "session.work_on(n)\n",
        folder,
    )
    ckpt = state.paths("search:boxes").dir / "checkpoint.pickle"
    assert ckpt.exists()  # the worker wrote one when the session ended
    if not checkpoint:
        ckpt.unlink()
    expected = _python(
        "from slurm_search import session\nimport json\n"
        "print(json.dumps([[r.tid, r.loss, type(r.result['box']).__name__] for r in session.results('boxes')]))",
        folder,
    )
    real = json.loads(expected)
    assert [box for _, _, box in real] == ["Box"] * 4
    best = min(loss for _, loss, _ in real)

    env = dict(os.environ)  # ssearch never has the project's folder on its path
    command = [str(Path(sys.executable).parent / "ssearch")]
    for cwd in (folder, tmp_path):

        def call(*args: str, cwd: Path = cwd) -> subprocess.CompletedProcess[str]:
            return subprocess.run(command + list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)

        for args in (["list", "--all"], ["show", "boxes"], ["trials", "boxes"], ["progress", "boxes"]):
            proc = call(*args)
            assert proc.returncode == 0 and "Traceback" not in proc.stderr, (args, proc.stderr)
        listed = {r["name"]: r for r in json.loads(call("list", "--all", "--json").stdout)}["search:boxes"]
        assert (listed["status"], listed["completed"], listed["running"]) == ("done", 4, 0)
        assert listed["best"] == pytest.approx(best)
        assert "4/4 done" in call("progress", "boxes").stdout
        trials = json.loads(call("trials", "boxes", "--format", "json").stdout)
        assert [(row["tid"], row["state"], row["loss"]) for row in trials] == [
            (tid, "ok", pytest.approx(loss)) for tid, loss, _ in real
        ]
    # In this process too (the module is not on its path): the box is shown as what it is.
    found = session.results("boxes")[0].result["box"]
    assert isinstance(found, state.NotLoaded) and "boxes.Box" in repr(found) and "not loaded" in repr(found)
    # Nothing the listings did put a stand-in in the store: the user's code reads its boxes.
    again = json.loads(_python(
        "from slurm_search import session\nimport json\n"
        "print(json.dumps([[r.tid, r.loss, type(r.result['box']).__name__] for r in session.results('boxes')]))",
        folder,
    ))
    assert again == real
