"""The ALE paper's baselines (package data), normalisation, the safe Atari
games, and benchmarks in the store."""

from __future__ import annotations

import pytest

from slurm_search import rl, state


def test_table_4_of_the_ale_paper():
    rows = rl.env_agent_data()
    assert len(rows) == 55 == len(rl.ATARI_GAMES) == len(rl.env_names)
    assert {row["ALE Game Name"] for row in rows} == set(rl.ATARI_GAMES)
    # Spot checks against arXiv:1207.4708, Appendix D.1, Table 4.
    assert rl.env_agent_score("atari:Asterix", "BASS") == 859.8
    assert rl.env_agent_score("Pong", "Random") == -20.9
    assert rl.env_min_max_scores()["Pong"] == (-21.0, -19.0)
    assert rl.env_min_max_scores()["Seaquest"] == (107.9, 664.8)
    with pytest.raises(KeyError, match="no game 'Doom'"):
        rl.env_agent_score("Doom", "BASS")


def test_every_game_of_the_table_exists_in_ale():
    from slurm_search.rl._names import parse_env

    for game in rl.ATARI_GAMES:
        parse_env(f"atari:{game}")


def test_linear_normalisation():
    assert rl.linear_score("atari:Pong", -21) == 0
    assert rl.linear_score("atari:Pong", -19) == 1
    assert rl.linear_score("atari:Pong", -20) == pytest.approx(0.5)
    with pytest.raises(KeyError, match="no ALE baseline"):
        rl.linear_score("classic:CartPole-v1", 100)


def test_percentile_normalisation_is_the_originals_searchsorted():
    cdf = [1.0, 2.0, 2.0, 3.0]
    assert [rl.percentile_score(cdf, v) for v in (0, 1, 2, 2.5, 3, 4)] == [0, 0, 0.25, 0.75, 0.75, 1]


def test_safe_atari_games():
    safe = rl.safe_atari_envs()
    assert "atari:Pong" in safe and "atari:VideoPinball" not in safe and "atari:Hero" not in safe
    assert len(safe) == 55 - 6
    legacy = rl.safe_atari_envs(legacy=True)
    assert "atari:Freeway" in safe and "atari:Freeway" not in legacy
    assert set(legacy) < set(safe)


def test_benchmarks_live_in_the_store():
    with pytest.raises(LookupError, match="run `run_exp gen_benchmark`"):
        rl.benchmark_data(None)
    name = rl.write_benchmark("exp:first_run", {"classic:CartPole-v1": [3.0, 1.0, 2.0]})
    assert name == "benchmark:first_run" and state.exists(name)
    assert rl.benchmark_env_cdf("first_run", "classic:CartPole-v1") == [1.0, 2.0, 3.0]
    assert rl.benchmark_env_cdf("exp:first_run", "classic:CartPole-v1") == [1.0, 2.0, 3.0]
    rl.write_benchmark("exp:second_run", {"classic:CartPole-v1": [5.0]})
    assert rl.benchmark_names() == ["benchmark:first_run", "benchmark:second_run"]
    assert rl.benchmark_env_cdf(None, "classic:CartPole-v1") == [5.0]  # the newest
    with pytest.raises(LookupError, match="no returns for 'classic:Acrobot-v1'"):
        rl.benchmark_env_cdf(None, "classic:Acrobot-v1")
    with pytest.raises(LookupError, match="no benchmark 'benchmark:nope'"):
        rl.benchmark_data("nope")
