"""The private names of hyperopt and optuna that the session uses, each listed
in one module per library (`_hyperopt_private`, `_optuna_private`), exist in
the oldest and in the newest version our pins allow.

Each version is installed from PyPI into a clean virtualenv; the check runs
there. Without PyPI the test is skipped, saying so, unless
SLURM_SEARCH_REQUIRE_PYPI=1 (then it fails: a run that must check it).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from slurm_search.session import _hyperopt_private, _optuna_private

ROOT = Path(__file__).resolve().parents[2]
SESSION = ROOT / "packages" / "session"
MODULES = SESSION / "src" / "slurm_search" / "session"
REQUIRE_ENV = "SLURM_SEARCH_REQUIRE_PYPI"


def _pin(library: str) -> str:
    project = tomllib.loads((SESSION / "pyproject.toml").read_text())["project"]
    specs = [*project["dependencies"], *(d for deps in project["optional-dependencies"].values() for d in deps)]
    [spec] = {s.replace(" ", "") for s in specs if re.match(rf"{library}[<>=!~ ]", s)}
    return spec


def _oldest(spec: str) -> str:
    found = re.search(r">=([0-9][0-9a-z.]*)", spec)
    assert found, f"{spec}: our pin needs a lower bound"
    return f"{spec.split('>')[0].split('<')[0]}=={found.group(1)}"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)")
    pytest.skip(reason)


def _venv_with(tmp_path: Path, requirement: str) -> Path:
    folder = tmp_path / re.sub(r"[^A-Za-z0-9.]+", "_", requirement)
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True, timeout=120)
    python = folder / "bin" / "python"
    out = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", requirement],
        capture_output=True, text=True, timeout=300,
    )
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["pip failed"])[-1]
        _skip_or_fail(f"cannot install {requirement} from PyPI: {last}")
    return python


# Run in the clean virtualenv: load the private-names module by its path (slurm_search is not installed
# there), then look up every name it lists.
CHECK = r"""
import importlib, importlib.util, json, sys
path, extra = sys.argv[1], json.loads(sys.argv[2])
spec = importlib.util.spec_from_file_location("private_names", path)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
if hasattr(mod, "defer_optimisers"):
    mod.defer_optimisers()  # as the session does, before hyperopt is imported
missing = []
for module, attrs in mod.PRIVATE_NAMES:
    try:
        obj = importlib.import_module(module)
        for attr in attrs.split("."):
            obj = getattr(obj, attr)
    except (ImportError, AttributeError) as err:
        missing.append(f"{module}:{attrs} ({type(err).__name__}: {err})")
if hasattr(mod, "tpe_defaults"):
    import hyperopt
    hyperopt.tpe.suggest  # a deferred optimiser still loads
    defaults = mod.tpe_defaults()
    if defaults["n_startup_jobs"] != extra["tpe_startup"]:
        missing.append(f"tpe._default_n_startup_jobs is {defaults['n_startup_jobs']}, not {extra['tpe_startup']}")
if hasattr(mod, "storage_of"):
    import optuna
    from optuna.samplers._gp import sampler as gp
    from optuna.samplers._tpe import sampler as tpe
    study = optuna.create_study()
    for attr in mod.STUDY_ATTRIBUTES:
        if not hasattr(study, attr):
            missing.append(f"Study.{attr}")
    # Each sampler that shares relative params does it under a key we list (GP's has none in 4.0).
    keys = [getattr(m, "_RELATIVE_PARAMS_KEY", None) for m in (gp, tpe)]
    for key in filter(None, keys):
        if key + ":" not in mod.DERIVED_TRIAL_ATTRS:
            missing.append(f"relative params key {key!r} is not in {mod.DERIVED_TRIAL_ATTRS}")
    frozen = mod.frozen_study(study_name="s", direction=optuna.study.StudyDirection.MINIMIZE, directions=None,
                              user_attrs={}, system_attrs={}, study_id=7)
    if mod.frozen_study_id(frozen) != 7:
        missing.append("FrozenStudy._study_id")
print(json.dumps(missing))
"""


def _check(python: Path, module: Path, extra: dict) -> list[str]:
    import json

    out = subprocess.run(
        [str(python), "-c", CHECK, str(module), json.dumps(extra)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_private_use_is_in_its_librarys_module():
    # Outside the two modules, no code names these private attributes any more.
    private = re.compile(r"\._impls\b|\._obj\b|tpe\._default_|optuna\.study\._frozen|\._storage\b|\._study_id\b")
    users = []
    for path in MODULES.rglob("*.py"):
        if path.name in ("_hyperopt_private.py", "_optuna_private.py"):
            continue
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            line = ast.get_source_segment(text, node) if isinstance(node, ast.Attribute) else None
            if line and private.search(line):
                users.append(f"{path.name}:{node.lineno}")
    assert users == []
    # ... and each module's docstring lists what it uses.
    for module in (_hyperopt_private, _optuna_private):
        for _, attrs in module.PRIVATE_NAMES:
            assert attrs.split(".")[-1] in module.__doc__, attrs


@pytest.mark.slow
@pytest.mark.parametrize("which", ["oldest", "newest"])
@pytest.mark.parametrize("library", ["hyperopt", "optuna"])
def test_private_names_exist_in_the_oldest_and_newest_pinned_versions(tmp_path, library, which):
    spec = _pin(library)
    requirement = _oldest(spec) if which == "oldest" else spec
    python = _venv_with(tmp_path, requirement)
    module = MODULES / f"_{library}_private.py"
    from slurm_search.session._suggesting import TPE_STARTUP

    assert _check(python, module, {"tpe_startup": TPE_STARTUP}) == [], requirement
