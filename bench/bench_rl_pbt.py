"""PBT against random search and ASHA: A2C on CartPole at equal training frames (issue 24's RL bench).

Runs the `pbt_cartpole` experiment (`slurm_search.rl._exp_pbt`) once per
repeat (a different `--seed`: other starting settings, other PBT decisions),
on 2 local worker processes (`--search:method=cpu --search:threads=2`):

- PBT: `--population` members of `--frames` frames, exploit/explore every
  `--interval` frames (quantile 0.25);
- random search: `--population` settings of `--frames` frames (the same budget);
- ASHA (TPE + ASHA, rungs at `--interval`, x3): `--asha-settings` settings,
  about the same frames (pruned ones stop early; the frames trained are counted).

Reported per repeat and method: the frames trained, the search's wall time
(first trial claimed to last finished) and the best's mean test return on
the fresh seeds 1001..1000+`--eval-seeds` (random/ASHA: the best setting
trained anew; PBT: the best member's schedule replayed from scratch).

    .venv/bin/python bench/bench_rl_pbt.py                      # about 10 minutes on 2 cores
    .venv/bin/python bench/bench_rl_pbt.py --seeds 1 --frames 4000
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LINE = re.compile(
    r"^(PBT|random search|ASHA)\s+(\d+) trials,\s+(\d+) frames,\s+([\d.]+) s: best on fresh seeds ([-\d.]+)"
)


def _run(seed: int, args: argparse.Namespace, home: Path) -> tuple[dict[str, tuple[int, int, float, float]], float]:
    run_exp = Path(sys.executable).with_name("run_exp")
    seeds = ",".join(str(1001 + i) for i in range(args.eval_seeds))
    command = [
        str(run_exp), "pbt_cartpole", f"--seed={seed}",
        f"--run:train_frames={args.frames}", f"--run:test_episodes={args.test_episodes}",
        f"--search:population={args.population}", f"--search:interval={args.interval}",
        f"--search:asha_settings={args.asha_settings}", "--search:method=cpu", "--search:threads=2",
        f"--eval_seed_space={seeds}",
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, SLURM_SEARCH_HOME=str(home)))
    wall = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"run_exp failed:\n{done.stderr[-2000:]}")
    found = {}
    for line in done.stdout.splitlines():
        m = LINE.match(line)
        if m:
            found[m.group(1)] = (int(m.group(2)), int(m.group(3)), float(m.group(4)), float(m.group(5)))
    exploits = re.search(r"PBT exploits: (\d+)", done.stdout)
    found["exploits"] = int(exploits.group(1)) if exploits else 0  # type: ignore[assignment]
    return found, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--population", type=int, default=4)
    parser.add_argument("--frames", type=int, default=8_000)
    parser.add_argument("--interval", type=int, default=1_000)
    parser.add_argument("--asha-settings", type=int, default=12)
    parser.add_argument("--eval-seeds", type=int, default=3)
    parser.add_argument("--test-episodes", type=int, default=10)
    args = parser.parse_args()
    print(
        f"A2C on CartPole-v1; population {args.population} x {args.frames} frames (interval {args.interval}); "
        f"ASHA {args.asha_settings} settings; best on {args.eval_seeds} fresh seeds x {args.test_episodes} "
        "test episodes; 2 workers"
    )
    print("seed  method          trials  frames  search_s  fresh_return")
    best: dict[str, list[float]] = {}
    walls: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            found, wall = _run(seed, args, Path(tmp) / f"home{seed}")
            for method in ("PBT", "random search", "ASHA"):
                trials, frames, search_s, fresh = found[method]
                best.setdefault(method, []).append(fresh)
                walls.setdefault(method, []).append(search_s)
                print(f"{seed:4d}  {method:14s}  {trials:6d}  {frames:6d}  {search_s:8.1f}  {fresh:12.1f}")
            print(f"      (PBT exploits: {found['exploits']}; whole run_exp {wall:.0f} s)")
    for method, values in best.items():
        print(
            f"{method:14s} mean best-on-fresh-seeds return {statistics.fmean(values):6.1f} over {len(values)} repeats "
            f"(min {min(values):.1f}, max {max(values):.1f}); mean search wall {statistics.fmean(walls[method]):.0f} s"
        )


if __name__ == "__main__":
    main()
