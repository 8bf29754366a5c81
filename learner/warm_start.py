"""Warm starts (`amp-data train --init-from RUN`): a new run begins with weights of an earlier one.

The paper warm-starts its wave-terrain policy from the flat-terrain one. What is loaded is chosen by part:

| part | AMP+SAC | AMP+PPO |
|---|---|---|
| `actor` | the squashed-Gaussian actor | the actor MLP and its log-std |
| `norm` | the observation normaliser of actor and critics | (none: PPO's observations are not normalised) |
| `critics` | both Q networks and their targets | the value MLP |
| `disc` | the discriminator and its AMP-observation normaliser | the same |
| `alpha` | the entropy temperature | (none) |

Optimiser states, replays, counters and RNG states are not carried over: the new run starts at step 0 with
fresh optimisers (that is what distinguishes a warm start from `--resume`). Every tensor's shape is checked
before anything is loaded, so a mismatch changes nothing.

One mismatch is bridged on purpose: a flat-ground source for a `--terrain waves` run, whose observation has
the terrain's values appended. The input layers get zero weights for the new inputs (the loaded policy
acts as before until it learns to use them) and the normaliser mean 0, variance 1 for them.
One is refused although the shapes fit: an actor or critics whose actions meant something else (joint
targets around the default pose against corrections to the dog's stride, `env.reference_feedforward`, or
another `env.residual_limit_rad` or `env.action_scale`): a `--preset cpu` run cannot start a `cpu-dog` one.
"""

from __future__ import annotations

from pathlib import Path

from amp_data.errors import InputError

PARTS = ("actor", "norm", "critics", "disc", "alpha")
DEFAULT_PARTS = ("actor", "norm")

# part -> (agent attribute, key of the checkpoint's agent state, parameter-name prefix) per algorithm
_SOURCES = {
    "sac": {"actor": [("actor", "actor", "")], "norm": [("obs_norm", "obs_norm", "")],
            "critics": [(k, k, "") for k in ("q1", "q2", "q1_target", "q2_target")],
            "disc": [("disc", "disc", "")], "alpha": [("log_alpha", "log_alpha", None)]},
    "ppo": {"actor": [("ac", "ac", "actor."), ("ac", "ac", "log_std")], "norm": [],
            "critics": [("ac", "ac", "critic.")], "disc": [("disc", "disc", "")], "alpha": []},
}


def parse_parts(text: str | tuple | list) -> tuple[str, ...]:
    """'actor,norm' -> ('actor', 'norm'); ValueError naming an unknown part."""
    parts = [p.strip() for p in (text.split(",") if isinstance(text, str) else text) if str(p).strip()]
    if "all" in parts:
        return PARTS
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        raise ValueError(f"init_parts: unknown part(s) {', '.join(bad) or '(none given)'}; choose from "
                         f"{', '.join(PARTS)} or all")
    return tuple(dict.fromkeys(parts))


def source_checkpoint(source: str | Path) -> tuple[Path, dict]:
    """(checkpoint path, its state) of a run folder (its newest complete checkpoint) or a .pt file."""
    from learner.run_folder import RunFolder, load_checkpoint

    source = Path(source)
    if source.is_dir():
        if not (source / "config.json").is_file():
            raise InputError(source, "--init-from: not a run folder (no config.json)")
        path, state = RunFolder(source).newest_checkpoint()
    elif source.is_file():
        path, state = source, load_checkpoint(source)
    else:
        raise InputError(source, "--init-from: no such run folder or checkpoint file")
    if not isinstance(state, dict) or "agent" not in state or "algo" not in state:
        raise InputError(path, "--init-from: not an amp-data training checkpoint (no agent weights)")
    return path, state


def _obs_dim(config: dict) -> int:
    from learner.task import observation_dim
    env = config.get("env", {})
    return observation_dim(env.get("action_filter_hz", 0.0), env.get("terrain", "flat"), env.get("gait_clock", False),
                           env.get("observe_last_action", False))


def _widened(name: str, src, shape: tuple, dims: tuple[int, int]):
    """`src` fitted to `shape` when the observation grew from dims[0] to dims[1] values at its end: input
    columns inserted after the old observation (zeros), normaliser entries appended (mean 0, var 1).
    None if the mismatch is not that."""
    import torch

    old, new = dims
    grow = new - old
    if grow <= 0:
        return None
    if src.ndim == 2 and src.shape[0] == shape[0] and shape[1] - src.shape[1] == grow and src.shape[1] >= old:
        zeros = torch.zeros(src.shape[0], grow, dtype=src.dtype)
        return torch.cat([src[:, :old], zeros, src[:, old:]], dim=1)
    if src.ndim == 1 and src.shape[0] == old and shape == (new,) and name.split(".")[-1] in ("mean", "var"):
        fill = torch.ones if name.endswith("var") else torch.zeros
        return torch.cat([src, fill(grow, dtype=src.dtype)])
    return None


def _tensors(agent, state: dict, algo: str, parts: tuple[str, ...], path: Path, dims: tuple[int, int]):
    """[(module or tensor owner, attribute, {name: tensor})] to load; InputError on the first mismatch."""
    plan = []
    for part in parts:
        for attr, key, prefix in _SOURCES[algo][part]:
            src = state["agent"].get(key)
            if src is None:
                raise InputError(path, f"--init-from: the checkpoint holds no {key!r} (part {part})")
            target = getattr(agent, attr)
            if prefix is None:                      # a bare tensor (SAC's log alpha)
                if tuple(src.shape) != tuple(target.shape):
                    raise InputError(path, f"--init-from: {key} has shape {tuple(src.shape)}, this run's "
                                     f"{tuple(target.shape)}")
                plan.append((agent, attr, {None: src}))
                continue
            own = {n: t for n, t in target.state_dict().items() if n.startswith(prefix)}
            loaded = {}
            for name, tensor in own.items():
                if name not in src:
                    raise InputError(path, f"--init-from: {key}.{name} is missing from the checkpoint "
                                     f"(part {part}: a different network layout)")
                loaded[name] = src[name]
                if tuple(src[name].shape) != tuple(tensor.shape):
                    widened = None if key == "disc" else _widened(name, src[name], tuple(tensor.shape), dims)
                    if widened is None:
                        raise InputError(path, f"--init-from: {key}.{name} has shape {tuple(src[name].shape)}, "
                                         f"this run's {tuple(tensor.shape)} (part {part}: different network "
                                         "sizes, observations or AMP windows)")
                    loaded[name] = widened
            plan.append((target, None, loaded))
    return plan


# what an action means: joint target = (default pose or the dog's stride) + action_scale * action, bounded
_ACTION_MEANING = ("reference_feedforward", "residual_limit_rad", "action_scale")


def _check_same_actions(state: dict, env_cfg, parts: tuple[str, ...], path: Path) -> None:
    """InputError when the actor or critics would be loaded into a run whose actions mean something else."""
    if not {"actor", "critics"} & set(parts):
        return
    src, defaults = state.get("config", {}).get("env", {}), type(env_cfg)()   # older checkpoints: the defaults
    for key in _ACTION_MEANING:
        theirs, ours = src.get(key, getattr(defaults, key)), getattr(env_cfg, key)
        if theirs != ours:
            raise InputError(path, f"--init-from: its actions mean something else (env.{key} = {theirs}, this "
                             f"run's {ours}); start from a run of the same preset, e.g. --preset "
                             f"{state.get('config', {}).get('preset', 'cpu')}")


def warm_start(agent, algo: str, state: dict, parts: tuple[str, ...], path: Path, obs_dim: int) -> list[str]:
    """Load `parts` of the checkpoint `state` (from `path`) into `agent`, whose observation has `obs_dim`
    values; all shapes and the actions' meaning are checked first. Returns the parts loaded."""
    import torch

    if state["algo"] != algo:
        raise InputError(path, f"--init-from: an AMP+{str(state['algo']).upper()} checkpoint cannot start an "
                         f"AMP+{algo.upper()} run (different networks)")
    parts = tuple(p for p in parts if _SOURCES[algo][p])
    _check_same_actions(state, agent.cfg.env, parts, path)
    dims = (_obs_dim(state.get("config", {})), int(obs_dim))
    plan = _tensors(agent, state, algo, parts, path, dims)
    with torch.no_grad():
        for owner, attr, tensors in plan:
            if attr is not None:
                getattr(owner, attr).copy_(tensors[None])
            else:
                merged = owner.state_dict()
                merged.update(tensors)
                owner.load_state_dict(merged)
    return list(parts)
