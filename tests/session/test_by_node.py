"""`ssearch show` and `ssearch logs` group workers by node (the host part of a worker id)."""

from __future__ import annotations

from click.testing import CliRunner
from hyperopt import hp

from slurm_search import session
from slurm_search.session.workers._cli import cli
from slurm_search.session.workers._config import logs_dir
from slurm_search.session.workers._summary import LOCAL, by_node, node_of


def test_node_of_a_worker_id():
    assert node_of("node2:slurm-17_3") == "node2"
    assert node_of("login.example.org:4242") == "login.example.org"
    assert node_of("cpu_123_0") == LOCAL  # a local launcher's worker: no host in its id
    assert node_of(None) == "?"


def test_by_node_counts_workers_and_trials():
    rows = by_node(
        [("b:1", "ok"), ("a:1", "ok"), ("a:2", "failed"), ("a:1", "running"), ("b:1", "ok"), ("cpu_1_0", "new")]
    )
    assert rows == [
        {"node": LOCAL, "workers": 1, "ok": 0, "failed": 0, "running": 0},
        {"node": "a", "workers": 2, "ok": 1, "failed": 1, "running": 1},
        {"node": "b", "workers": 1, "ok": 2, "failed": 0, "running": 0},
    ]


def _session_worked_by(*workers):
    name = session.create_session(
        "session_test_objectives:noop", {"x": hp.uniform("x", 0, 1)}, max_evals=len(workers), seed=1
    )
    for worker in workers:
        t = session.next_trial(name, worker)
        session.record_result(name, worker, t.tid, 1.0)
    return name


def test_show_has_a_table_by_node():
    name = _session_worked_by("node1:slurm-5_0", "node1:slurm-5_1", "node2:slurm-5_2")
    out = CliRunner().invoke(cli, ["show", name])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    at = lines.index("by node:")
    assert lines[at + 1].split() == ["NODE", "WORKERS", "OK", "FAILED", "RUNNING"]
    assert lines[at + 2].split() == ["node1", "2", "2", "0", "0"]
    assert lines[at + 3].split() == ["node2", "1", "1", "0", "0"]


def test_logs_lists_workers_by_node():
    name = _session_worked_by("node2:slurm-5_0")
    folder = logs_dir(name)
    # What a worker writes first (its log line at start), as the Slurm array tasks do.
    for stem, worker in (("5_0", "node2:slurm-5_0"), ("5_1", "node1:slurm-5_1"), ("cpu_9_0", "cpu_9_0")):
        (folder / f"{stem}.err").write_text(f"2026-11-30 12:00:00 x INFO: worker {worker} starts on {name}\n")
        (folder / f"{stem}.out").write_text("")
    out = CliRunner().invoke(cli, ["logs", name])
    assert out.exit_code == 0, out.output
    rows = [line.split()[:2] for line in out.output.splitlines()[1:]]
    assert rows == [[LOCAL, "cpu_9_0"], ["node1", "5_1"], ["node2", "5_0"]]
