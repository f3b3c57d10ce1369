"""slurm-search on a Slurm cluster of three nodes on this machine.

``scripts/slurm-cluster.sh start --nodes 3 --locks node-local`` makes each
node a slurmd in its own network, UTS and mount namespaces (README, "A
cluster of several nodes"): its own address on a bridge, its own hostname and
its own FUSE view of the shared folder, whose flocks exclude only that node
(like NFS ``local_lock=all``). The module's fixture starts it and, at the
end, puts the one-node cluster of the other Slurm tests back (``stop`` +
``start``), so those tests are unaffected whatever the order.

The cluster is the machine's one Slurm: while this module runs, the
one-node cluster is down, so the fixture waits for its queue to be empty
before it switches (and skips, or fails with SLURM_SEARCH_REQUIRE_SLURM=1, if
other jobs keep it busy).
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import fs_views
from slurm_fixtures import SCRIPT, REQUIRE_ENV, wait_for_job

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

NODES = 3
NODE_NAMES = [f"node{k}" for k in range(1, NODES + 1)]
# Generous bounds for a busy two-core machine; they are not timings.
_START_TIMEOUT = 300.0
_JOB_TIMEOUT = 120.0
_SESSION_TIMEOUT = 180.0
_QUIET_WAIT = 120.0
SSEARCH = str(Path(sys.executable).with_name("ssearch"))


def _run(argv, timeout=60.0, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


def _script(*args: str, timeout: float = _START_TIMEOUT) -> str:
    proc = _run(["bash", str(SCRIPT), *args], timeout=timeout)
    assert proc.returncode == 0, f"slurm-cluster.sh {' '.join(args)} exited with {proc.returncode}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"cluster of {NODES} nodes unavailable: {reason} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(f"cluster of {NODES} nodes unavailable: {reason}")


def _queue() -> list[str]:
    proc = _run(["squeue", "-h", "-o", "%i %T"], timeout=30)
    return proc.stdout.split("\n")[:-1] if proc.returncode == 0 else []


def _wait_quiet() -> None:
    """Wait until no job is queued: switching clusters would kill other tests' jobs."""
    deadline = time.monotonic() + _QUIET_WAIT
    while (jobs := _queue()) and time.monotonic() < deadline:
        time.sleep(2)
    if jobs:
        _unavailable(f"the one-node cluster still runs other jobs after {_QUIET_WAIT:.0f} s: {jobs[:5]}")


@pytest.fixture(scope="module")
def cluster():
    """A folder of ours in the shared folder of a running 3-node cluster (node-local views).

    Afterwards: the folder removed and the one-node cluster back.
    """
    if os.geteuid() != 0:
        _unavailable("setting up namespaces, a bridge and FUSE views needs root")
    why = fs_views.missing()
    if why:
        _unavailable(why)
    _wait_quiet()
    t0 = time.monotonic()
    ours = None
    try:
        proc = _run(["bash", str(SCRIPT), "start", "--nodes", str(NODES), "--locks", "node-local"], timeout=_START_TIMEOUT)
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            _unavailable(lines[-1] if lines else f"start --nodes exited with {proc.returncode}")
        print(f"cluster of {NODES} nodes up in {time.monotonic() - t0:.1f} s")
        shared = Path(_script("shared").strip())
        assert shared.is_absolute() and os.path.ismount(shared), shared
        ours = shared / f"test-multinode-{uuid.uuid4().hex[:12]}"
        ours.mkdir()
        yield ours
    finally:
        _run(["scancel", "-u", "root"], timeout=30)
        if ours is not None:
            shutil.rmtree(ours, ignore_errors=True)  # the backing folder would keep it
        _script("stop")
        _script("start")


def _job_dir(shared: Path) -> Path:
    path = shared / f"test-{uuid.uuid4().hex[:12]}"
    path.mkdir()
    return path


def test_three_nodes_with_their_own_hostnames_and_views_of_the_shared_folder(cluster, tmp_path):
    lines = _script("status", timeout=60)
    assert lines.startswith("slurm-cluster: up: 3 nodes"), lines
    nodes = dict(line.split() for line in _run(["sinfo", "-h", "-N", "-o", "%N %n"]).stdout.splitlines())
    assert sorted(nodes) == NODE_NAMES
    assert sorted(nodes.values()) == NODE_NAMES  # each node's hostname is its name: all distinct
    login_mnt, login_net = os.readlink("/proc/self/ns/mnt"), os.readlink("/proc/self/ns/net")

    work = _job_dir(cluster)
    (work / "from-login.txt").write_text("written by the login node\n")
    # Each task sleeps so that the six run at once and Slurm spreads them.
    task = (
        'out=task-$SLURM_ARRAY_TASK_ID.txt; sleep 4; {'
        ' hostname; echo "$SLURMD_NODENAME"; readlink /proc/self/ns/mnt; readlink /proc/self/ns/net;'
        ' findmnt -n -o FSTYPE -T "$PWD";'
        ' cat from-login.txt; } > $out.tmp && mv $out.tmp $out'
    )
    job = _run(["sbatch", "--parsable", "--array=0-5", "--time=5", f"--output={work}/slurm-%A_%a.out", "--wrap", task],
               cwd=work).stdout.strip()
    assert job, "sbatch refused the array"
    wait_for_job(job, timeout=_JOB_TIMEOUT)

    seen = {}
    for i in range(6):
        path = work / f"task-{i}.txt"  # written by the task on its node, read here
        assert path.exists(), f"task {i} wrote nothing: " + " ".join(p.read_text() for p in work.glob("slurm-*.out"))
        hostname, node, mnt, net, fs, from_login = path.read_text().splitlines()
        assert hostname == node, f"task {i} ran on {node} but its hostname is {hostname}"
        assert node in NODE_NAMES
        assert fs == "fuse"  # its folder is a FUSE view of the shared folder
        assert from_login == "written by the login node"
        assert (mnt, net) != (login_mnt, login_net)
        seen.setdefault(node, set()).add((mnt, net))
    assert len(seen) >= 2, f"the 6 tasks all ran on {list(seen)}"
    # One mount and network namespace per node, none shared between nodes.
    assert all(len(ns) == 1 for ns in seen.values()), seen
    assert len({ns for pairs in seen.values() for ns in pairs}) == len(seen)


def _start_session(home: Path, name: str, *settings: str, env_extra: dict | None = None) -> None:
    env = dict(os.environ, SLURM_SEARCH_HOME=str(home), **(env_extra or {}))
    proc = _run([SSEARCH, "start", "demo", f"name={name}", *settings, "--method=slurm", "--workers=6",
                 "--slurm:partition=debug"], env=env, cwd=home.parent, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _task_nodes() -> dict[str, str]:
    """Array task ("13_2") -> the node it runs on, for the jobs slurmctld knows (running or recently ended)."""
    out = _run(["scontrol", "-o", "show", "job"]).stdout
    nodes = {}
    for line in out.splitlines():
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        if "ArrayTaskId" in fields and fields.get("BatchHost", "(null)") != "(null)":
            nodes[f"{fields['ArrayJobId']}_{fields['ArrayTaskId']}"] = fields["BatchHost"]
    return nodes


def _wait_done(session, name: str, nodes: dict[str, str], on_progress=None):
    """Wait for the session to end; fill ``nodes`` (array task -> node) on the way."""
    deadline = time.monotonic() + _SESSION_TIMEOUT
    while True:
        progress = session.progress(name)
        nodes.update(_task_nodes())
        if progress.status != "running":
            return progress
        if on_progress is not None:
            on_progress(progress)
        assert time.monotonic() < deadline, f"session still running after {_SESSION_TIMEOUT:.0f} s: {progress}"
        time.sleep(1)


def _host(owner: str, nodes: dict[str, str]) -> str:
    """The host of a worker id: `hostname:pid[:task]`, or `slurm-TASK` for a Slurm array's worker."""
    if owner.startswith("slurm-") and ":" not in owner:
        return nodes.get(owner.removeprefix("slurm-"), f"? ({owner} not seen in squeue)")
    return owner.split(":")[0]


def _check_every_trial_ok_once(name: str, max_evals: int, nodes: dict[str, str]) -> set[str]:
    """Assert that each of max_evals trials is ok with one result; return the workers' hosts."""
    from slurm_search import session, state

    name = session.session_name(name)
    results = session.results(name)
    assert len(results) == max_evals
    assert sorted(r.tid for r in results) == sorted({r.tid for r in results})
    docs = session.trial_docs(name)
    assert len(docs) == max_evals
    assert {doc["result"]["status"] for doc in docs} == {"ok"}
    records, _ = state.records(name)
    reported = collections.Counter(r.tid for r in records if type(r).__name__ == "Result")
    compacted = any(type(r).__name__ == "Snapshot" for r in records)
    if not compacted:
        assert sorted(reported) == sorted(r.tid for r in results)
    assert max(reported.values(), default=1) == 1, {t: n for t, n in reported.items() if n > 1}
    return {_host(doc["owner"], nodes) for doc in docs}


def test_a_session_in_the_shared_folder_runs_on_several_nodes(cluster, monkeypatch):
    from slurm_search import session

    home = _job_dir(cluster) / "home"
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(home))
    name = f"multinode_{uuid.uuid4().hex[:8]}"
    t0 = time.monotonic()
    _start_session(home, name, "sleep=0.05", "max_evals=120")
    nodes: dict[str, str] = {}
    progress = _wait_done(session, name, nodes)
    print(f"120 trials on {NODES} nodes in {time.monotonic() - t0:.1f} s")
    assert progress.status == "done", progress
    assert progress.completed == 120 and progress.failed == 0, progress

    hosts = _check_every_trial_ok_once(name, 120, nodes)
    assert hosts <= set(NODE_NAMES), hosts
    assert len(hosts) >= 2, f"every trial ran on {hosts}"
    # Views whose flocks are node-local: the store must use lease files.
    assert (home / "lock-mode").read_text().split()[0] == "soft"


def _running_nodes() -> dict[str, str]:
    """Array task -> node of the running jobs (the session's workers)."""
    out = _run(["squeue", "-h", "-t", "R", "-o", "%i %N"]).stdout
    return dict(line.split() for line in out.splitlines())


def test_a_node_killed_mid_run_loses_no_trial(cluster, monkeypatch):
    from slurm_search import session

    home = _job_dir(cluster) / "home"
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(home))
    name = f"multinode_kill_{uuid.uuid4().hex[:8]}"
    max_evals = 90
    # Short leases and lock grace: the killed node's trials and locks come back in seconds.
    _start_session(home, name, "sleep=0.5", f"max_evals={max_evals}", "lease_seconds=5",
                   env_extra={"SLURM_SEARCH_LOCK_GRACE": "10"})
    victim = None

    def kill_when_under_way(progress):
        nonlocal victim
        if victim is not None or progress.completed < 10:
            return
        nodes = collections.Counter(_running_nodes().values())
        if not nodes:
            return
        victim = nodes.most_common(1)[0][0]
        pids = _script("pids", victim, timeout=30).split()
        assert pids, f"no process found on {victim}"
        subprocess.run(["kill", "-KILL", *pids], check=False)  # slurmd, its job steps and their workers

    t0 = time.monotonic()
    nodes: dict[str, str] = {}
    progress = _wait_done(session, name, nodes, on_progress=kill_when_under_way)
    print(f"{max_evals} trials with {victim} killed in {time.monotonic() - t0:.1f} s")
    assert victim is not None, f"the session finished before a node could be killed: {progress}"
    assert progress.status == "done" and progress.completed == max_evals and progress.failed == 0, progress
    assert _script("pids", victim, timeout=30).split() == []  # nothing of it came back
    hosts = _check_every_trial_ok_once(name, max_evals, nodes)
    assert hosts <= set(NODE_NAMES), hosts
    taken_over = sum(doc["version"] > 1 for doc in session.trial_docs(name))
    print(f"trials done by {sorted(hosts)}; {taken_over} taken over after a lease ran out")
