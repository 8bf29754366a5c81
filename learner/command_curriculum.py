"""A curriculum on the fastest forward commands (after legged_gym's command curriculum, which widens the
command range while the policy keeps up with it).

Commands drawn above the cap are lowered to it. The cap starts at `env.command_curriculum_start_m_s`. Each
time `env.command_curriculum_episodes` episodes commanded at the cap have ended, the cap rises by
`env.command_curriculum_step_m_s` (up to the fastest command the task draws) if at least half of them kept
up: no fall, and a path of at least `KEEP_UP_SHARE` of the distance the command asked for. Episodes
commanded below the cap do not count, and the cap never comes down (legged_gym's neither).

The state (cap and the counts of the window in progress) goes into checkpoints, so `--resume` goes on
where the run was.
"""

from __future__ import annotations

import numpy as np

KEEP_UP_SHARE = 0.8       # legged_gym promotes at 80 % of the tracking reward's maximum
PROMOTE_SHARE = 0.5       # of the window's episodes that kept up


class CommandCurriculum:
    """The cap (m/s) on forward commands, and its update at episode ends."""

    def __init__(self, start_m_s: float, step_m_s: float, max_m_s: float, episodes: int):
        if step_m_s <= 0 or episodes < 1:
            raise ValueError(f"command curriculum: step must be > 0 and episodes >= 1, got {step_m_s}, {episodes}")
        self.step_m_s, self.max_m_s, self.episodes = float(step_m_s), float(max_m_s), int(episodes)
        self.cap_m_s = min(float(start_m_s), self.max_m_s)
        self._ended = 0        # episodes at the cap in the window so far
        self._kept_up = 0      # of them, those that kept up

    def apply(self, command_m_s: np.ndarray) -> np.ndarray:
        return np.minimum(command_m_s, self.cap_m_s)

    def episode_end(self, command_m_s: np.ndarray, path_m: np.ndarray, duration_s: np.ndarray,
                    fell: np.ndarray) -> bool:
        """Count the ended episodes (n,) commanded at the cap; True when the cap rose."""
        at_cap = np.asarray(command_m_s) >= self.cap_m_s - 1e-9
        if not at_cap.any() or self.cap_m_s >= self.max_m_s:
            return False
        asked_m = np.asarray(command_m_s) * np.asarray(duration_s)
        kept_up = ~np.asarray(fell, dtype=bool) & (np.asarray(path_m) >= KEEP_UP_SHARE * asked_m)
        self._ended += int(at_cap.sum())
        self._kept_up += int((kept_up & at_cap).sum())
        if self._ended < self.episodes:
            return False
        rose = self._kept_up >= PROMOTE_SHARE * self._ended
        if rose:
            self.cap_m_s = min(self.cap_m_s + self.step_m_s, self.max_m_s)
        self._ended = self._kept_up = 0
        return rose

    def state_dict(self) -> dict:
        return {"cap_m_s": self.cap_m_s, "ended": self._ended, "kept_up": self._kept_up}

    def load_state_dict(self, d: dict) -> None:
        self.cap_m_s, self._ended, self._kept_up = float(d["cap_m_s"]), int(d["ended"]), int(d["kept_up"])
