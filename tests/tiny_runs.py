"""A training run of a few steps on tiny networks, for tests of the tools that read run folders."""

from pathlib import Path


def tiny_run(banks, out: Path, overrides: list[str]) -> Path:
    """Train 8 env steps with `overrides` (`--set` strings) into `out`; returns `out`."""
    from learner import config as C
    from learner import train as T
    cfg = C.make_config("cpu", "sac")
    C.apply_overrides(cfg, ["env.num_envs=2", "max_env_steps=8", "minutes=0", "sac.batch_size=16",
                            "sac.warmup_steps=4", "amp.batch_size=16", "sac.hidden=32,32", "amp.hidden=32,32",
                            "sac.replay_size=1000", "amp.replay_size=1000", "amp.history_size=1000",
                            "env.sim_threads=1", "torch_threads=1", *overrides])
    T.train(banks, cfg, out, say=lambda m: None, eval_envs=1, eval_seconds=0.1)
    return out
