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
import json
import os
import re
import signal
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
    """The host of a worker id: `hostname:pid[:task]`, or `hostname:slurm-JOB_TASK` for a Slurm array's worker."""
    assert ":" in owner, f"a worker id without its host: {owner}"
    host, rest = owner.split(":", 1)
    if rest.startswith("slurm-"):
        task = rest.removeprefix("slurm-")
        assert nodes.get(task, host) == host, f"{owner} ran on {nodes[task]} according to Slurm"
    return host


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


def test_doctor_runs_its_live_test_between_two_nodes(cluster):
    # The store in the shared folder, seen through node-local views: doctor
    # takes the lease mode, and its live test through srun spans two nodes.
    home = _job_dir(cluster) / "home"
    proc = _run(
        [sys.executable, "-m", "slurm_search.state", "doctor", "--slurm", "--slurm-arg=--partition=debug"],
        timeout=600,
        env=dict(os.environ, SLURM_SEARCH_HOME=str(home)),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lock mode soft: fuse (FUSE)" in proc.stdout
    [live] = [line for line in proc.stdout.splitlines() if "Slurm tasks" in line]
    assert "2 Slurm tasks on 2 nodes" in live and "200/200 transactions, 200/200 appends" in live
    hosts = live.split("(")[1].split(")")[0].split(", ")
    assert len(hosts) == 2 and set(hosts) <= set(NODE_NAMES), live


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


# --- A: a node cut off for longer than the lease, then restored ---------------

_NS_DIR = Path("/run/slurm-cluster/ns")


def _bindfs_of(node: str) -> list[str]:
    """The pids of ``node``'s FUSE view: the bindfs started in its mount namespace."""
    mnt = f"mnt:[{os.stat(_NS_DIR / f'{node}.mnt').st_ino}]"
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() == "bindfs" and os.readlink(proc / "ns" / "mnt") == mnt:
                pids.append(proc.name)
        except OSError:
            continue
    return pids


def _counts(name: str) -> dict[str, int]:
    """ok trials, Result records in the log, tids with more than one Result, trials not ok (lost)."""
    from slurm_search import session, state

    name = session.session_name(name)
    docs = session.trial_docs(name)
    records, _ = state.records(name)
    reported = collections.Counter(r.tid for r in records if type(r).__name__ == "Result")
    ok = sum(doc["result"]["status"] == "ok" for doc in docs)
    return {
        "ok": ok,
        "results": len(session.results(name)),
        "result_records": sum(reported.values()),
        "duplicates": sum(n - 1 for n in reported.values() if n > 1),
        "lost": sum(doc["result"]["status"] != "ok" for doc in docs),
    }


def test_a_node_cut_off_longer_than_the_lease_has_its_trials_taken_over_and_its_late_results_refused(
        cluster, monkeypatch):
    from slurm_search import session

    home = _job_dir(cluster) / "home"
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(home))
    name = f"multinode_cut_{uuid.uuid4().hex[:8]}"
    max_evals, lease, cut_for = 60, 5, 12.0
    _start_session(home, name, "sleep=1", f"max_evals={max_evals}", f"lease_seconds={lease}",
                   env_extra={"SLURM_SEARCH_LOCK_GRACE": "10"})
    victim = None
    cut = {}

    def cut_when_under_way(progress):
        nonlocal victim
        if victim is not None or progress.completed < 6:
            return
        # The node holding the most trials right now (their owner says where they run).
        held = collections.defaultdict(set)
        for doc in session.trial_docs(session.session_name(name)):
            if doc["result"]["status"] == "new" and doc.get("owner"):
                held[doc["owner"].split(":")[0]].add(doc["tid"])
        if not held:
            return
        victim = max(held, key=lambda node: len(held[node]))
        cut["held"] = held[victim]  # they must be taken over, and its results for them refused
        k = victim.removeprefix("node")
        views = _bindfs_of(victim)
        assert views, f"no bindfs found for {victim}"
        subprocess.run(["ip", "link", "set", f"ss-node{k}", "down"], check=True)  # the host end of its veth
        subprocess.run(["kill", "-STOP", *views], check=True)
        try:
            time.sleep(cut_for)  # > lease_seconds: the others take its trials over meanwhile
        finally:
            subprocess.run(["kill", "-CONT", *views], check=False)
            subprocess.run(["ip", "link", "set", f"ss-node{k}", "up"], check=False)

    t0 = time.monotonic()
    nodes: dict[str, str] = {}
    progress = _wait_done(session, name, nodes, on_progress=cut_when_under_way)
    print(f"{max_evals} trials with {victim} cut off for {cut_for:.0f} s in {time.monotonic() - t0:.1f} s")
    assert victim is not None, f"the session finished before a node could be cut off: {progress}"
    assert progress.status == "done" and progress.completed == max_evals and progress.failed == 0, progress
    # Its workers come back and end on their own (no trial left): wait for them, then count.
    deadline = time.monotonic() + 20
    while _script("pids", victim, timeout=30).count("\n") > 1 and time.monotonic() < deadline:
        time.sleep(1)
    counts = _counts(name)
    print(f"counts: {counts}; {victim} held {sorted(cut['held'])} at the cut")
    assert counts == {"ok": max_evals, "results": max_evals, "result_records": max_evals,
                      "duplicates": 0, "lost": 0}, counts
    hosts = _check_every_trial_ok_once(name, max_evals, nodes)
    docs = {doc["tid"]: doc for doc in session.trial_docs(session.session_name(name))}
    taken = {tid for tid in cut["held"] if not docs[tid]["owner"].startswith(f"{victim}:")}
    assert taken, f"none of {victim}'s trials {sorted(cut['held'])} was taken over by another node"
    assert len(hosts - {victim}) >= 1, hosts


# --- B: run_exp on Slurm across nodes, killed -9, then resumed ----------------

RUN_EXP = str(Path(sys.executable).with_name("run_exp"))
_DEMO_ARGS = ["--tune:settings=6", "--tune:seeds=2", "--eval:seeds=2", "--delay=0.5"]
_DEMO_TOTAL = 6 * 2 + 2 * 2


def _calls(path: Path) -> list[tuple[str, ...]]:
    """The demo objective's calls (x, y, seed) written by every node into one shared file."""
    if not path.exists():
        return []
    return [tuple(line.split()[:3]) for line in path.read_text().splitlines() if line.strip()]


def test_run_exp_on_slurm_across_nodes_killed_9_then_resumed_gives_the_same_results(cluster, monkeypatch, tmp_path):
    from slurm_search import session, state
    from slurm_search.dsl import run_experiment
    from slurm_search.dsl._params import canonical
    from slurm_search.dsl.demo import CALLS_VARIABLE

    # The uninterrupted run, inline here (the results do not depend on where trials run).
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(tmp_path / "reference"))
    monkeypatch.delenv(CALLS_VARIABLE, raising=False)
    reference = run_experiment("demo", {"tune:settings": 6, "tune:seeds": 2, "eval:seeds": 2}, seed=11)

    work = _job_dir(cluster)
    home, calls = work / "home", work / "calls.txt"
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(home))
    env = dict(os.environ, SLURM_SEARCH_HOME=str(home), **{CALLS_VARIABLE: str(calls)})
    argv = [RUN_EXP, "demo", *_DEMO_ARGS, "--tune:method=slurm", "--tune:threads=4", "--eval:method=slurm",
            "--seed=11"]  # the partition: debug, the default (the demo has no `slurm` parameter)
    log = work / "killed.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work)
    try:
        deadline = time.monotonic() + 120
        while len(_calls(calls)) < 4:  # the first sub-session (the tuning) finished some trials
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"no 4 calls after 120 s: {log.read_text()}"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)  # the launcher only: its Slurm jobs go on
        proc.wait(timeout=30)
    name = re.search(r"running (exp:\S+)", log.read_text()).group(1)
    assert state.read(name)["status"] == "running"
    before = len(_calls(calls))
    assert 0 < before < _DEMO_TOTAL

    resumed = _run(argv + [f"--resume={name}"], timeout=240, env=env, cwd=work)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    stored = state.read(name)
    assert stored["status"] == "complete"
    assert canonical(stored["results"]) == canonical(reference.results)
    made = _calls(calls)
    again = [call for call, n in collections.Counter(made).items() if n > 1]
    print(f"{before} calls before the kill, {len(made)} in all (of {_DEMO_TOTAL}); repeated: {again}")
    assert not again, f"completed trials computed again: {again}"
    assert len(made) == _DEMO_TOTAL
    hosts = set()
    for sub in stored["sessions"].values():
        counts = _counts(sub)
        assert counts["duplicates"] == 0 and counts["lost"] == 0 and counts["ok"] == counts["result_records"], counts
        hosts |= {doc["owner"].split(":")[0] for doc in session.trial_docs(sub)}
    assert hosts <= set(NODE_NAMES) and len(hosts) >= 2, hosts


# --- C: stop cancels the jobs on every node --------------------------------------

def _queued_tasks(jobs: list[str]) -> dict[str, str]:
    """Task -> node ('' while pending) of these jobs that squeue lists."""
    out = _run(["squeue", "-h", "-o", "%i %T %N", "-j", ",".join(jobs)]).stdout if jobs else ""
    tasks = {}
    for line in out.splitlines():
        task, _state, *node = line.split()
        tasks[task] = node[0] if node else ""
    return tasks


def _wait_on_nodes(jobs_of, at_least: int = 2, timeout: float = 120.0) -> set[str]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = jobs_of()
        nodes = {n for n in _queued_tasks(jobs).values() if n} if jobs else set()
        if len(nodes) >= at_least:
            return nodes
        assert time.monotonic() < deadline, f"the jobs {jobs} never ran on {at_least} nodes: {nodes}"
        time.sleep(0.5)


def _wait_gone(jobs: list[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while (left := _queued_tasks(jobs)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, f"still queued after the stop: {left}"


def test_ssearch_stop_and_run_exp_stop_cancel_the_jobs_on_every_node(cluster, monkeypatch):
    from slurm_search import session, state

    work = _job_dir(cluster)
    home = work / "home"
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(home))
    env = dict(os.environ, SLURM_SEARCH_HOME=str(home))

    name = f"multinode_stop_{uuid.uuid4().hex[:8]}"
    _start_session(home, name, "sleep=1", "max_evals=500")
    full = session.session_name(name)
    jobs = lambda: [str(j) for j in session.annotations(full).get("slurm_jobs", [])]  # noqa: E731
    nodes = _wait_on_nodes(jobs)
    proc = _run([SSEARCH, "stop", name], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _wait_gone(jobs())
    print(f"ssearch stop: tasks on {sorted(nodes)} cancelled")

    argv = [RUN_EXP, "demo", "--tune:settings=40", "--tune:seeds=2", "--eval:seeds=2", "--delay=1",
            "--tune:method=slurm", "--tune:threads=6", "--eval:method=slurm", "--seed=3"]
    log = work / "run_exp.log"
    with open(log, "w") as out:
        launcher = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"running (exp:\S+)", log.read_text())):
            assert launcher.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        exp = found.group(1)

        def exp_jobs():
            subs = state.read(exp).get("sessions", {}).values()
            return [str(j) for sub in subs for j in session.annotations(sub).get("slurm_jobs", [])]

        nodes = _wait_on_nodes(exp_jobs)
        all_jobs = exp_jobs()
        proc = _run([RUN_EXP, f"--stop={exp}"], env=env, cwd=work)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        _wait_gone(all_jobs)
        assert launcher.wait(timeout=60) != 0  # the launcher sees its run stopped
        print(f"run_exp --stop: tasks on {sorted(nodes)} cancelled; launcher: {log.read_text().strip().splitlines()[-1]}")
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait(timeout=30)


# --- D: a store the nodes cannot see --------------------------------------------

@pytest.fixture
def login_only(tmp_path):
    """A folder only the login node sees (a tmpfs mounted here, after the nodes' namespaces were made)."""
    folder = Path(f"/tmp/login-only-{uuid.uuid4().hex[:8]}")
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)  # what the nodes wrote under the same path


def test_a_store_the_nodes_cannot_see_fails_in_one_line_at_once(cluster, login_only, monkeypatch):
    home = login_only / "home"
    home.mkdir()
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(home))
    env = dict(os.environ, SLURM_SEARCH_HOME=str(home))

    def start(name: str) -> subprocess.CompletedProcess[str]:
        t0 = time.monotonic()
        proc = _run([SSEARCH, "start", "demo", f"name={name}", "max_evals=12", "--method=slurm", "--workers=6",
                     "--slurm:partition=debug", "--wait"], env=env, timeout=120)
        print(f"{name}: exit {proc.returncode} in {time.monotonic() - t0:.1f} s: {proc.stderr.strip()}")
        return proc

    # The nodes have no such folder: Slurm cannot even open the tasks' output files.
    proc = start("unseen")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ssearch: error")]
    assert proc.returncode != 0 and len(errors) == 1, proc.stderr
    assert "not visible on those nodes" in errors[0] and "SLURM_SEARCH_HOME" in errors[0], errors

    # The nodes see another folder at the same path (each its own ~/.store): the tasks run, and say it.
    name = "other"
    logs = home / "search" / name / "logs"
    _script("exec", "node1", "mkdir", "-p", str(logs), timeout=30)  # the nodes' /tmp, under the tmpfs
    proc = start(name)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ssearch: error")]
    assert proc.returncode != 0 and len(errors) == 1, proc.stderr
    assert "exit 2:0" in errors[0] and "SLURM_SEARCH_HOME" in errors[0], errors
    said = _script("exec", "node1", "bash", "-c", f"cat {logs}/*.err", timeout=30).splitlines()
    assert len(said) == 6, said  # one line per task
    assert all("is not visible on node node" in line and "SLURM_SEARCH_HOME" in line for line in said), said

    # The launcher of run_exp: the same one line, at once.
    proc = _run([RUN_EXP, "demo", "--tune:settings=2", "--tune:seeds=1", "--eval:seeds=1", "--tune:method=slurm",
                 "--eval:method=slurm"], env=env, timeout=120)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "not visible on those nodes" in proc.stderr, proc.stderr
    print(f"run_exp: exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1]}")
