"""Micro-benchmark: a trial's suggestion and parameters, hyperopt's functions vs ours.

Times, in microseconds per call, what a session does per trial:

- `rand`: hyperopt's `rand.suggest([tid], domain, trials, seed)` against
  `_space.suggest("rand", ...)` (`_fast_eval.rand_vals`);
- `tpe` after a history of 500 finished trials: `tpe.suggest` against
  `_space.suggest("tpe", ...)` (`_fast_eval.tpe_vals`);
- `params`: `hyperopt.space_eval` against `_space.params`
  (`_fast_eval.space_eval`), on the demo space and on rl's a2c space.

Both sides get the same arguments, and each pair is checked to give the
same values before it is timed.

    .venv/bin/python bench/bench_suggest.py [--history 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def _per_call(fn: Callable[[int], Any], calls: int, repeat: int) -> float:
    """Best of `repeat` runs of `calls` calls (fn gets the call's index), in µs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for i in range(calls):
            fn(i)
        best = min(best, time.perf_counter() - start)
    return best / calls * 1e6


def _history(space: Any, n: int) -> Any:
    from hyperopt import Trials, fmin, rand

    trials = Trials()
    rng = np.random.default_rng(0)
    fmin(
        lambda p: float(rng.random()),
        space,
        algo=rand.suggest,
        max_evals=n,
        trials=trials,
        rstate=np.random.default_rng(1),
        show_progressbar=False,
    )
    return trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history", type=int, default=500, help="finished trials before a tpe suggestion")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(f"{'µs per call':<28} {'hyperopt':>12} {'ours':>10} {'speed-up':>9}")
    from slurm_search.rl import spaces
    from slurm_search.session import demo

    for label, make in (("demo", demo.space), ("a2c", spaces.a2c_space)):
        _bench_space(label, make(), args.history, args.repeat)


def _compare(name: str, theirs: Callable[[int], Any], ours: Callable[[int], Any], calls: int, repeat: int) -> None:
    for i in range(3):
        assert repr(theirs(i)) == repr(ours(i)), (name, i)
    t = _per_call(theirs, calls, repeat)
    o = _per_call(ours, calls, repeat)
    print(f"{name:<28} {t:>12.1f} {o:>10.1f} {t / o:>8.1f}x", flush=True)


def _bench_space(label: str, space: Any, history: int, repeat: int) -> None:
    import hyperopt
    from hyperopt import rand, tpe

    from slurm_search.session import _space
    from slurm_search.session._suggesting import _NO_TRIALS

    seed = 12345
    domain = _space.build_domain(space)

    def rand_theirs(i: int) -> dict:
        docs = rand.suggest([i], domain, _NO_TRIALS, _space.trial_seed(seed, i))
        return _space._plain_vals(docs[0]["misc"]["vals"])

    _compare(
        f"suggest rand ({label})",
        rand_theirs,
        lambda i: _space.suggest("rand", domain, _NO_TRIALS, i, seed),
        300,
        repeat,
    )

    trials = _history(space, history)

    def tpe_theirs(i: int) -> dict:
        docs = tpe.suggest([history + i], domain, trials, _space.trial_seed(seed, history + i))
        return _space._plain_vals(docs[0]["misc"]["vals"])

    _compare(
        f"suggest tpe ({label}, {history})",
        tpe_theirs,
        lambda i: _space.suggest("tpe", domain, trials, history + i, seed),
        20,
        repeat,
    )

    all_vals = [_space.suggest("rand", domain, _NO_TRIALS, i, seed) for i in range(100)]
    _compare(
        f"params ({label})",
        lambda i: hyperopt.space_eval(space, _space.assignment(all_vals[i % 100])),
        lambda i: _space.params(space, all_vals[i % 100]),
        300,
        repeat,
    )

if __name__ == "__main__":
    main()
