"""Objectives for the rl tests (imported by path by in-process workers)."""

from __future__ import annotations

from slurm_search import rl


def train_a2c(params, context):
    """A tiny real A2C run on CartPole with the trial's seed; its TensorBoard logs under context["logdir"]."""
    run = {"train_frames": 300, "test_episodes": 1, "device": "cpu", "logdir": context["logdir"]}
    return -rl.run_results("classic:CartPole-v1", "classic:a2c", None, run, params["seed"])["return_mean"]
