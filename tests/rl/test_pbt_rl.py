"""PBT of real A2C runs on CartPole: members take each other's `run_results`
checkpoints and keep their own hyperparameters; the `pbt_cartpole`
experiment compares PBT with random search and ASHA end to end."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import rl_pbt_objectives
from hyperopt import hp

from slurm_search import session
from slurm_search import state as store
from slurm_search.session._events import Exploit
from slurm_search.session._view import View

torch = pytest.importorskip("torch")

SSEARCH = Path(sys.executable).parent / "ssearch"
RUN_EXP = Path(sys.executable).parent / "run_exp"
HERE = Path(__file__).parent
FRAMES, INTERVAL, POPULATION = 4_000, 1_000, 4


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))


def test_a2c_members_continue_from_the_donors_checkpoint_with_their_new_hyperparameters(tmp_path, monkeypatch):
    log = tmp_path / "frames.log"
    monkeypatch.setenv(rl_pbt_objectives.FRAMES_VARIABLE, str(log))
    run = {"train_frames": FRAMES, "test_episodes": 3, "report_every": INTERVAL, "checkpoint_every": INTERVAL,
           "device": "cpu"}
    name = session.create_session(
        "rl_pbt_objectives:member",
        {"lr": hp.loguniform("lr", -9.0, -4.0), "entropy_loss_scaling": hp.uniform("entropy_loss_scaling", 0, 0.1)},
        algo="pbt", seed=5, context={"run": run, "seed": 1},
        pbt_options={"population": POPULATION, "interval": INTERVAL, "max_steps": FRAMES, "quantile": 0.5},
        checkpoints={"keep": 1000, "keep_finished": True},  # every checkpoint kept, to look into
    )
    workers = [subprocess.Popen([str(SSEARCH), "work_on", name, "--worker-id", f"w{i}"], env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for i in range(2)]
    for proc in workers:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    progress = session.progress(name)
    assert (progress.status, progress.completed, progress.failed) == ("done", POPULATION, 0)
    exploits = [r for r in store.records(name)[0] if isinstance(r, Exploit)]
    assert exploits, "no member exploited: nothing was tested"

    uid = View(name).refresh().spec.uid
    folder = store.paths(name).dir / "checkpoints"
    changed = 0
    for e in exploits:
        copy = folder / f"{uid[:8]}.{e.tid}" / f"{e.seq:08d}.dir"
        donor = folder / f"{uid[:8]}.{e.donor}" / f"{e.donor_seq:08d}.dir"
        assert (copy / "agent.pt").read_bytes() == (donor / "agent.pt").read_bytes()
        following = folder / f"{uid[:8]}.{e.tid}" / f"{e.seq + 1:08d}.dir"
        if not following.is_dir():
            continue  # exploited again at once (the copy was behind): the next one is a copy too
        meta = pickle.loads((following / "run.pickle").read_bytes())
        # The member went on from the donor's frame, not from scratch ...
        assert meta["frame"] is None or meta["frame"] - 1 == e.donor_step + INTERVAL, (meta["frame"], e)
        if meta["frame"] is None:
            continue
        # ... with its new hyperparameters, not the donor's.
        state = torch.load(following / "agent.pt", weights_only=False)
        new = {k: v[0] if isinstance(v, (list, tuple)) else v for k, v in e.new_vals.items()}  # hyperopt's vals
        donor_lrs = {g["lr"] for opt in torch.load(donor / "agent.pt", weights_only=False)["optimizer"].values()
                     for g in opt["param_groups"]}
        changed += donor_lrs != {new["lr"]}
        lrs = [g["lr"] for opt in state["optimizer"].values() for g in opt["param_groups"]]
        assert lrs and lrs == [pytest.approx(new["lr"])] * len(lrs), (lrs, new)
        scaling = [v for path, v in state["value"].items() if path.endswith(".entropy_loss_scaling")]
        assert scaling == [pytest.approx(new["entropy_loss_scaling"])]
    assert changed, "no member went on with another learning rate than its donor's: nothing was tested"
    # The population trained its budget, plus the frames members that took a checkpoint behind them
    # trained again: none from scratch after an exploit.
    trained = sum(int(line.split()[1]) for line in log.read_text().splitlines())
    net = sum(e.step - e.donor_step for e in exploits)  # behind: trained again; ahead: skipped
    # (ALL counts a frame for the step that resets a finished episode: fewer steps than frames.)
    assert 0.85 * (POPULATION * FRAMES + net) <= trained <= POPULATION * FRAMES + net, (trained, net)


def test_the_pbt_cartpole_experiment_compares_pbt_with_random_search_and_asha(slurm_search_home):
    done = subprocess.run(
        [str(RUN_EXP), "pbt_cartpole", "--debug=true", "--seed=3",
         "--run:train_frames=4000", "--search:interval=400", "--search:asha_settings=4",
         "--eval_seed_space=1001"],
        capture_output=True, text=True, timeout=300, env=_env(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for label in ("PBT", "random search", "ASHA"):
        line = next(line for line in out.splitlines() if line.startswith(label) and "trials," in line)
        assert " s: best on fresh seeds" in line, line
    exploits = int(out.split("PBT exploits: ")[1].split(";")[0])
    # Asynchronous: whether two members meet at a step depends on timing; ten ready points each
    # make a run without any exploit unlikely (at 1,000 frames, one run in five here had none).
    assert exploits >= 1
    plots = [Path(line.split("plot: ")[1]) for line in out.splitlines() if line.startswith("plot: ")]
    assert {p.name for p in plots} == {"pbt_schedules.png", "pbt_vs_rand_asha.png"}
    for path in plots:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Random search trained its budget (4 settings x 4,000 frames); every PBT member reached the
    # end of its 4,000, and the frames shown add what exploits made members train again (a donor
    # behind) and take off what they skipped (a donor ahead): asynchronous PBT ranks the latest
    # reports, so a donor may be behind.
    lines = [line for line in out.splitlines() if "trials," in line]
    frames = {label: int(line.split("trials,")[1].split("frames")[0])
              for label in ("PBT", "random search") for line in lines if line.startswith(label)}
    assert frames["random search"] == 16_000, frames
    (pbt_name,) = [s.name for s in session.list_sessions(all=True) if s.algo == "pbt"]
    curves = session.trial_reports(pbt_name)
    assert len(curves) == 4 and all(max(curve) == 4_000 for curve in curves.values()), curves
    moves = [e["step"] - e["donor_step"] for e in session.pbt_exploits(pbt_name)]
    assert len(moves) == exploits and all(abs(m) <= 4_000 - 400 and m % 400 == 0 for m in moves), moves
    assert frames["PBT"] == 16_000 + sum(moves), (frames, moves)
    # Rewinds stay within the population's budget plus rewind_budget (5%).
    assert frames["PBT"] <= 16_000 * 1.05, frames


@pytest.mark.parametrize("interval", ["1001", "7000", "0"])
def test_a_pbt_interval_that_checkpoints_cannot_hit_is_one_line(slurm_search_home, interval):
    done = subprocess.run(
        [str(RUN_EXP), "pbt_cartpole", "--debug=true", f"--search:interval={interval}"],
        capture_output=True, text=True, timeout=120, env=_env(),
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--search:interval" in lines[0] and "multiple of 8" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
