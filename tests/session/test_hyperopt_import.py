"""hyperopt imported without its ATPE and TPE modules until they are used.

Each test runs in a fresh interpreter (what matters is what an import does
the first time), and compares with hyperopt imported the ordinary way.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def _python(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_hyperopt_after_the_session_package_skips_atpe_and_tpe():
    seen = _python(
        """
        import json, sys
        import slurm_search.session
        import hyperopt
        from hyperopt import hp, rand
        print(json.dumps({
            "stats": "scipy.stats" in sys.modules,
            "special": "scipy.special" in sys.modules,
            "atpe": type(sys.modules["hyperopt.atpe"]).__name__,
            "tpe": type(hyperopt.tpe).__name__,
        }))
        """
    )
    assert seen == {"stats": False, "special": False, "atpe": "_Deferred", "tpe": "_Deferred"}


def test_a_deferred_module_loads_on_first_use_and_is_then_the_real_one():
    seen = _python(
        """
        import json, sys, types
        import slurm_search.session
        import hyperopt
        from hyperopt import tpe as early            # bound before the load
        suggest = hyperopt.tpe.suggest                 # first use: the real import
        from hyperopt.tpe import *                     # star-import sees the real names
        import hyperopt.atpe
        print(json.dumps({
            "real": type(sys.modules["hyperopt.tpe"]) is types.ModuleType,
            "parent": hyperopt.tpe is sys.modules["hyperopt.tpe"],
            "same": early.suggest is suggest and suggest.__module__ == "hyperopt.tpe",
            "star": "suggest" in dir() and "ap_split_trials" in dir(),
            "special": "scipy.special" in sys.modules,
            "atpe_class": hyperopt.atpe.ATPEOptimizer.__module__,
            "stats": "scipy.stats" in sys.modules,
        }))
        """
    )
    assert seen == {
        "real": True, "parent": True, "same": True, "star": True, "special": True,
        "atpe_class": "hyperopt.atpe", "stats": True,
    }


def test_looking_at_every_module_does_not_load_them():
    # inspect.getmodule() reads __file__ of every module in sys.modules (torch's
    # import calls it); pkgutil-like code asks for __path__.
    seen = _python(
        """
        import inspect, json, sys
        import slurm_search.session
        import hyperopt
        inspect.getmodule(json.dumps, "/nowhere/file.py")
        for module in list(sys.modules.values()):
            getattr(module, "__file__", None)
            hasattr(module, "__path__")
            getattr(module, "__spec__", None)
        print(json.dumps({"stats": "scipy.stats" in sys.modules, "special": "scipy.special" in sys.modules,
                          "file": sys.modules["hyperopt.tpe"].__file__.endswith("hyperopt/tpe.py")}))
        """
    )
    assert seen == {"stats": False, "special": False, "file": True}


_TPE_SESSION = """
import json
{first}
from slurm_search import session
from hyperopt import hp
name = session.create_session(
    "slurm_search.session.demo:objective",
    {{"x": hp.uniform("x", -3, 3), "k": hp.choice("k", ["a", "b", "c"])}},
    algo="tpe", max_evals=30, seed=11,
)
session.work_on(name, worker_id="w")
import sys
print(json.dumps({{
    # hyperopt.fmin bound `tpe` when hyperopt was imported: the placeholder or the module.
    "placeholder": type(sys.modules["hyperopt.fmin"].tpe).__name__ == "_Deferred",
    "results": [[r.tid, r.loss] for r in sorted(session.results(name), key=lambda r: r.tid)],
}}))
"""


def test_a_tpe_session_suggests_the_same_with_and_without_the_deferral(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(tmp_path / "deferred"))
    deferred = _python(_TPE_SESSION.format(first=""))
    monkeypatch.setenv("SLURM_SEARCH_HOME", str(tmp_path / "plain"))
    plain = _python(_TPE_SESSION.format(first="import hyperopt  # before the session package: no deferral"))
    # The first ran through the placeholder, the second on hyperopt's own module.
    assert deferred["placeholder"] and not plain["placeholder"]
    assert len(deferred["results"]) == 30
    assert deferred["results"] == plain["results"]
