"""Every command the READMEs show is run here, at debug sizes, or says why it cannot be.

`README_COMMANDS` lists each command line of the READMEs (root and packages)
exactly as written, with what the test does with it:

- ``run``: the command, with its example names replaced by a session and an
  experiment run made by the test, and its sizes cut to debug sizes; it must
  exit with status 0.
- ``usage``: a synopsis line (``[--all]``, ``SESSION``, ``|``): each command it
  names must answer ``--help``.
- ``skip``: why it cannot run on this machine.

A README line that is not in the table, or a table entry no README shows,
fails `test_the_table_matches_the_readmes`: the table and the READMEs change
together.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
READMES = [ROOT / "README.md", *sorted(ROOT.glob("packages/*/README.md"))]
_COMMAND = re.compile(r"(\.venv/bin/)?(run_exp|ssearch)\b|python -m slurm_search")

# Example names in the READMEs, replaced by what the test made.
SESSION_NAMES = ("lumpy_roomy_vague_army", "SESSION")
RUN_NAMES = ("exp:NAME", "exp:calm_lucky_otter", "exp:quick_brown_law")

R, U, S = "run", "usage", "skip"
# The commands the root README showed before the documentation site took
# them (run_exp --version, --show, --resume, ssearch doctor, the Slurm ones...)
# are run from the site's pages by tests/test_docs_pages.py.
README_COMMANDS: dict[str, tuple[str, str]] = {
    "run_exp hp_tuning_effects --search:method=cpu --search:threads=2 --search:settings=10 "
    "--search:runs_per_setting=3 --eval:runs=5 --run:train_frames=10000 --run:test_episodes=10": (R, ""),
    "run_exp hp_tuning_effects --search:method=slurm --slurm:partition=cpu --slurm:time=4:00:00": (R, "slurm"),
    "run_exp hp_tuning_effects --search:method=cpu --search:threads=2 --search:settings=12 "
    "--search:runs_per_setting=2 --eval:runs=4 --run:train_frames=8000 --run:report_every=1000 "
    "--search:pruner=asha --search:pruner_options:asha:min_resource=2000 "
    "--search:pruner_options:asha:max_resource=8000": (R, ""),
    "run_exp hp_tuning_effects --agent=atari:a2c --env=atari:Breakout --search:method=slurm "
    "--slurm:partition=gpu --slurm:gres=gpu:1 --run:device=cuda": (S, "needs a GPU partition and CUDA"),
    "run_exp": (R, ""),
    "run_exp demo --display-ast=abstract": (R, ""),
    "run_exp demo --display-ast=graph": (R, ""),
    "run_exp --show=exp:calm_lucky_otter": (R, ""),
    "run_exp --stop=exp:calm_lucky_otter": (R, ""),
    "run_exp demo --tune:settings=20 --tune:method=cpu --tune:threads=4": (R, ""),
    "run_exp my_package.experiments:spec": (S, "names a user's own module (tests/dsl/test_run_exp_cli.py runs specs by path)"),
    "ssearch start demo sleep=0.2 algo=tpe max_evals=200 seed=1 --method=cpu --workers=4": (R, ""),
    "ssearch start demo max_evals=1000 --method=slurm --workers=8 --slurm:partition=short --slurm:time=30": (R, "slurm"),
    "ssearch start ale agent=classic:a2c env=classic:CartPole-v1 train_frames=5000 max_evals=20 --method=cpu --workers=2": (R, ""),
    "ssearch start ale agent=classic:dqn space:lr=[1e-4,1e-2] hp:minibatch_size=32": (R, ""),
    "ssearch list [--all] [--json]": (U, ""),
    "ssearch rm SESSION… [--yes]": (U, ""),
    "ssearch show lumpy_roomy_vague_army [KEY] [--json]": (U, ""),
    "ssearch trials SESSION [--format table|csv|json]": (U, ""),
    "ssearch dashboard [--port 8080] [--host 127.0.0.1] [--inner]": (U, ""),
    "ssearch enqueue SESSION LABEL=VALUE…": (U, ""),
    "ssearch logs SESSION [WORKER]": (U, ""),
    "ssearch doctor [--slurm]": (U, ""),
    "ssearch stop SESSION… | stopall": (U, ""),
    "ssearch restart SESSION [--method … --workers … --slurm:…]": (U, ""),
    "ssearch del_trial SESSION TID | enable SESSION | progress SESSION | inspect SESSION": (U, ""),
    "ssearch work_on SESSION [TIMEOUT] | generational_work_on SESSION": (U, ""),
    "ssearch salvage SESSION": (U, ""),
    "ssearch trials exp:quick_brown_law/best_xy --format csv > tuning.csv": (R, ""),
    "python -m slurm_search.state list [TYPE]": (U, ""),
    "python -m slurm_search.state show TYPE:NAME": (U, ""),
    "python -m slurm_search.state restore TYPE:NAME": (U, ""),
    "python -m slurm_search.state salvage TYPE:NAME": (U, ""),
    "python -m slurm_search.state doctor [--slurm]": (U, ""),
    "python -m slurm_search.state doctor --set-lock-mode auto|flock|soft": (U, ""),
}


def readme_commands() -> list[str]:
    """Command lines in the READMEs' shell blocks (fenced sh/console/plain, or indented), comments cut."""
    found = []
    for readme in READMES:
        lines = readme.read_text().split("\n")
        fenced, lang, i = False, "", 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("```"):
                fenced, lang = not fenced, line[3:].strip()
                i += 1
                continue
            text = line.strip().removeprefix("$ ")
            shell = (fenced and lang in ("sh", "console", "")) or (line.startswith("    ") and not fenced)
            if shell and _COMMAND.match(text):
                while text.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    text = text[:-1] + " " + lines[i].strip()
                text = re.split(r"\s+#\s", text)[0]
                found.append(" ".join(text.split()))
            i += 1
    return found


def test_the_table_matches_the_readmes():
    shown = set(readme_commands())
    assert sorted(shown - set(README_COMMANDS)) == [], "README commands missing from README_COMMANDS"
    assert sorted(set(README_COMMANDS) - shown) == [], "README_COMMANDS entries no README shows"


def _argv(command: str) -> list[str]:
    words = command.split()
    if words[0].startswith(".venv/bin/"):
        words[0] = words[0].removeprefix(".venv/bin/")
    if words[:2] == ["python", "-m"]:
        return [sys.executable, *words[1:]]
    return [str(BIN / words[0]), *words[1:]]


def _debug_sizes(argv: list[str]) -> list[str]:
    """The same command at debug sizes: no sleeping, a few trials, two workers, tiny trainings."""
    out = []
    for word in argv:
        word = re.sub(r"^max_evals=\d+$", "max_evals=4", word)
        word = re.sub(r"^sleep=[\d.]+$", "sleep=0", word)
        word = re.sub(r"^train_frames=\d+$", "train_frames=300", word)
        word = re.sub(r"^--workers=\d+$", "--workers=2", word)
        word = re.sub(r"^--(tune|search):threads=\d+$", r"--\1:threads=2", word)
        word = word.replace("--slurm:partition=cpu", "--slurm:partition=debug").replace("--slurm:time=4:00:00", "--slurm:time=10")
        word = word.replace("--slurm:time=30", "--slurm:time=1")  # the test cluster's short partition: 1 minute
        out.append(word)
    if Path(out[0]).name == "run_exp" and len(out) > 1 and not out[1].startswith("--"):
        out.append("--debug=true")
    if out[1:3] == ["start", "ale"]:
        given = {w.split("=")[0] for w in out}
        out += [w for w in ("max_evals=2", "train_frames=300", "test_episodes=2") if w.split("=")[0] not in given]
        if "--method" not in given:
            out.append("--method=cpu")
    return out


def _run(argv: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=os.environ.copy(), timeout=timeout)


@pytest.fixture()
def examples(tmp_path):
    """A finished demo session and a finished demo run, to stand for the READMEs' example names."""
    session = _run([str(BIN / "ssearch"), "start", "demo", "max_evals=3", "sleep=0", "--method=inline"], tmp_path)
    assert session.returncode == 0, session.stderr
    run = _run([str(BIN / "run_exp"), "demo", "--debug=true"], tmp_path)
    assert run.returncode == 0, run.stderr
    run_name = re.search(r"exp:[a-z_]+", run.stdout + run.stderr).group(0)
    return session.stdout.strip().splitlines()[-1], run_name


def _with_examples(command: str, session: str, run: str) -> str:
    for example in RUN_NAMES:
        command = command.replace(example, run)
    for example in SESSION_NAMES:
        command = re.sub(rf"\b{example}\b", session, command)
    return command


def _check(command: str, examples: tuple[str, str], cwd: Path) -> None:
    kind, note = README_COMMANDS[command]
    session, run = examples
    if kind == U:
        argv = _argv(command)
        names = [argv[1]] if argv[0] != sys.executable else [argv[3]]
        names += re.findall(r"\s\|\s+(\w+)", command)
        for name in names:
            prefix = argv[:1] if argv[0] != sys.executable else argv[:3]
            proc = _run([*prefix, name, "--help"], cwd)
            assert proc.returncode == 0 and "usage" in proc.stdout.lower(), (command, name, proc.stderr)
        return
    text = _with_examples(command, session, run)
    redirect = None
    if " > " in text:
        text, redirect = text.split(" > ")
    proc = _run(_debug_sizes(_argv(text)), cwd)
    assert proc.returncode == 0, f"{command}\n{proc.stderr[-3000:]}"
    if redirect:
        (cwd / redirect).write_text(proc.stdout)
        assert proc.stdout.splitlines()[0].startswith("tid,")


LOCAL = [c for c, (kind, note) in README_COMMANDS.items() if kind != S and note != "slurm"]
ON_SLURM = [c for c, (kind, note) in README_COMMANDS.items() if note == "slurm"]


@pytest.mark.slow
@pytest.mark.parametrize("command", LOCAL)
def test_a_readme_command_runs(command, examples, tmp_path):
    _check(command, examples, tmp_path)


@pytest.mark.slurm
@pytest.mark.slow
@pytest.mark.parametrize("command", ON_SLURM)
def test_a_readme_command_runs_on_slurm(command, examples, tmp_path, slurm_cluster):
    _check(command, examples, tmp_path)


def test_the_skipped_ones_say_why():
    for command, (kind, note) in README_COMMANDS.items():
        if kind == S:
            assert len(note) > 10, command


# Python blocks: (README, first line of the block) -> ("run", "") or ("skip", why).
PYTHON_BLOCKS: dict[tuple[str, str], tuple[str, str]] = {
    ("README.md", "from hyperopt import hp"): (R, ""),
    ("packages/dsl/README.md", "from hyperopt import hp"): (S, "an outline whose '...' are the demo's details; slurm_search.dsl.demo is the whole file, run above by `run_exp demo`"),
    ("packages/locking/README.md", "from slurm_search.locking import lock, have_lock, needs_lock, LockTimeout"): (R, ""),
    ("packages/rl/README.md", "from slurm_search.rl import run_results"): (R, ""),
    ("packages/session/README.md", "from hyperopt import hp"): (S, "an API summary with placeholders (worker_id, loss_or_dict); tests/session calls each function"),
    ("packages/session/README.md", "launched = workers.launch(name, method=\"slurm\", workers=4,"): (S, "continues the summary above (its name); tests/session/test_slurm.py launches on Slurm"),
    ("packages/session/README.md", "import optuna"): (S, "opens a browser window (.show()); tests/session/test_dashboard_storage.py draws the same figure"),
    ("packages/state/README.md", "from slurm_search import state"): (R, ""),
    ("packages/state/README.md", "from slurm_search.locking import lock"): (S, "a sketch: pos and claim() stand for the caller's position and records"),
    ("packages/state/README.md", "state.append(\"search:s1\", rec1, rec2)       # one write, all or none, fsynced"): (S, "a sketch: rec1, rec2 and snapshot stand for the caller's records"),
    ("packages/state/README.md", 'state.save_checkpoint("search:s1", value, pos, info={"status": "running"})  # no lock'): (S, "a sketch: value and pos stand for a session's state and log position (tests/state/test_state_checkpoints.py)"),
    ("packages/state/README.md", 'state.mark("search:s1", "beats", "u.3.1.1")               # create: False if it exists'): (R, "from slurm_search import state\nstate.create('search:s1', 0)\n"),
}


def python_blocks() -> dict[tuple[str, str], str]:
    found = {}
    for readme in READMES:
        for block in re.findall(r"```python\n(.*?)```", readme.read_text(), re.S):
            found[(str(readme.relative_to(ROOT)), block.split("\n")[0])] = block
    return found


def test_the_python_table_matches_the_readmes():
    assert sorted(set(python_blocks()) ^ set(PYTHON_BLOCKS)) == []


@pytest.mark.slow
@pytest.mark.parametrize("key", [k for k, (kind, _) in PYTHON_BLOCKS.items() if kind == R], ids=lambda k: k[0])
def test_a_readme_python_block_runs(key, tmp_path):
    # Debug sizes, after the set-up a block takes for granted (the table's note).
    code = PYTHON_BLOCKS[key][1] + python_blocks()[key].replace('"train_frames": 5000', '"train_frames": 300')
    proc = _run([sys.executable, "-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
