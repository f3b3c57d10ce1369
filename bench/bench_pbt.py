"""PBT against random search on the toy of issue 24, at the same budget of steps.

A member's score accumulates exp(-((h - h*(t)) / 0.1)**2) at each step t,
where the best h, h*(t), moves from 0.8 to 0.2 over the 100 steps
(`slurm_search.session.demo.pbt_toy`). PBT: population 8, 100 steps each
(800 in all), exploit/explore every `--interval` steps. Random search: 8
trials of 100 steps with a constant h (800 in all). Both run on 8 local
worker processes (`workers.launch(method="cpu")`), each step sleeping
`--sleep` seconds so the members train side by side. Reported per seed: the
best accumulated score of each, their ratio (target: PBT >= 1.5x random on
every seed), and the steps each executed (counted by the objective; target:
within 10% of the 800 budget).

    .venv/bin/python bench/bench_pbt.py                 # about a minute
    .venv/bin/python bench/bench_pbt.py --explore pb2   # PB2
    .venv/bin/python bench/bench_pbt.py --seeds 1 2 3 --interval 10
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def _run(algo: str, seed: int, args: argparse.Namespace, folder: Path) -> tuple[float, int, float, int]:
    from slurm_search import session
    from slurm_search.session import demo, workers

    count = folder / f"{algo}-{seed}.count"
    context = {"steps": args.steps, "interval": args.interval, "sleep": args.sleep, "count": str(count)}
    settings: dict = {"max_evals": args.population}
    if algo == "pbt":
        settings = {
            "pbt_options": {
                "population": args.population, "interval": args.interval, "max_steps": args.steps,
                "quantile": args.quantile, "resample_probability": args.resample_probability,
                "explore": args.explore,
            }
        }
    name = session.create_session(
        "slurm_search.session.demo:pbt_toy", demo.pbt_space(), algo=algo, seed=seed, context=context, **settings
    )
    start = time.perf_counter()
    workers.launch(name, method="cpu", workers=args.population, show_progress=False)
    wall = time.perf_counter() - start
    best = -min(r.loss for r in session.results(name))
    steps = sum(int(line) for line in count.read_text().split())
    exploits = len(session.pbt_exploits(name)) if algo == "pbt" else 0
    return best, steps, wall, exploits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7, 8])
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--quantile", type=float, default=0.25)
    parser.add_argument("--resample-probability", type=float, default=0.25)
    parser.add_argument("--sleep", type=float, default=0.02)
    parser.add_argument("--explore", choices=["perturb", "pb2"], default="perturb")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("SLURM_SEARCH_HOME", str(Path(tmp) / "home"))
        budget = args.population * args.steps
        print(
            f"budget {budget} steps each; population {args.population}, interval {args.interval}, "
            f"explore {args.explore}, sleep {args.sleep} s a step"
        )
        print("seed  pbt_best  rand_best  ratio  pbt_steps  rand_steps  pbt_s  rand_s  exploits")
        ratios = []
        for seed in args.seeds:
            pbt, pbt_steps, pbt_wall, exploits = _run("pbt", seed, args, Path(tmp))
            rand, rand_steps, rand_wall, _ = _run("rand", seed, args, Path(tmp))
            ratios.append(pbt / rand)
            print(
                f"{seed:4d}  {pbt:8.2f}  {rand:9.2f}  {pbt / rand:5.2f}  {pbt_steps:9d}  {rand_steps:10d}"
                f"  {pbt_wall:5.1f}  {rand_wall:6.1f}  {exploits:8d}"
            )
        print(f"min ratio {min(ratios):.2f}; target >= 1.5 on every seed: {'met' if min(ratios) >= 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
