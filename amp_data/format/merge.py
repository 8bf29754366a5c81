"""Merge motion banks into one multi-clip bank (e.g. walk + trot for multi-gait imitation).

The merged bank's datasets are the inputs' datasets concatenated along the frame axis, in the order
the banks are given; each input clip becomes a row of the merged clip table with its frames shifted,
and its loop mode, cycle offsets and provenance (source file, hash, source frames) kept.

- **Names** stay unique: a clip name found in more than one input bank is prefixed with its bank's
  file stem (`trot0_D1_009_KAN01_001`); a `_2`, `_3`, ... suffix settles what is still equal.
- **Weights**: by default every clip keeps its weight. With one weight per input bank, each bank's
  clips are rescaled, keeping their ratios, so that they sum to that bank's weight (a bank of one
  clip: the clip gets the bank's weight). Samplers normalise the weights.
- **Source keypoints** are concatenated (`keypoint_start/stop` shifted) when every input has them with
  the same keypoint names, parents and source frame rate; otherwise they are dropped (`notes` says why).
- The inputs must agree on `robot`, `fps`, `joint_names`, `foot_names` and `quat_convention`.
- **Root attributes** keep what all inputs share; the single-clip provenance (`source_file`,
  `source_sha256`, `source_frames`, `ground_height_m`, `cycle`) is dropped from the root, as it
  lives per clip in the clip table, and so are attributes whose values differ. `loop_mode` is
  recomputed from the clips (`mixed` when they differ).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from amp_data.format.bank import DATASETS, Bank, check_compatible, read_bank, same_attr_value, show_attr_value
from amp_data.errors import InputError

# Attributes that must be equal for banks to be merged.
# Single-clip provenance: kept per clip in the clip table, never on the root of a merged bank.
PER_CLIP_ATTRS = ("source_file", "source_sha256", "source_frames", "ground_height_m", "cycle")
# Set again by write_bank / Bank.__post_init__.
REWRITTEN_ATTRS = ("schema_version", "created_by", "loop_mode")


@dataclass
class MergeResult:
    bank: Bank
    notes: list[str] = field(default_factory=list)   # things the user should know (dropped keypoints)


def _unique_names(banks: list[Bank]) -> list[list[str]]:
    """Per bank, its clips' names in the merged bank (see the module docstring)."""
    in_banks = Counter(name for b in banks for name in {c.name for c in b.clips})
    names = [[f"{Path(str(b.path)).stem}_{c.name}" if in_banks[c.name] > 1 else c.name for c in b.clips]
             for b in banks]
    taken: set[str] = set()
    out = []
    for per_bank in names:
        row = []
        for name in per_bank:
            unique, k = name, 1
            while unique in taken:
                k += 1
                unique = f"{name}_{k}"
            taken.add(unique)
            row.append(unique)
        out.append(row)
    return out


def parse_weights(text: str | None, num_banks: int) -> list[float] | None:
    """'0.3,0.7' -> [0.3, 0.7]: one weight >= 0 per bank, not all zero. None -> None."""
    if text is None:
        return None
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError:
        raise InputError(None, f"--weights {text!r}: expected numbers separated by commas, e.g. 0.3,0.7") from None
    if len(weights) != num_banks:
        raise InputError(None, f"--weights gives {len(weights)} weight(s) for {num_banks} bank(s); "
                               "give one per input bank")
    if not all(np.isfinite(w) and w >= 0 for w in weights) or sum(weights) <= 0:
        raise InputError(None, f"--weights {text!r}: weights must be finite, >= 0 and not all 0")
    return weights


def _bank_clip_weights(bank: Bank, bank_weight: float | None) -> list[float]:
    own = np.array([c.weight for c in bank.clips], dtype=np.float64)
    if bank_weight is None:
        return own.tolist()
    if own.sum() <= 0:
        if bank_weight == 0:
            return own.tolist()
        raise InputError(bank.path, f"its clips all have weight 0, so they cannot be scaled to sum to "
                                    f"{bank_weight:g}")
    return (own * (bank_weight / own.sum())).tolist()


def _merged_keypoints(banks: list[Bank], notes: list[str]):
    """(keypoints, names, parents, row offsets per bank) or Nones when they cannot be concatenated."""
    reason = None
    missing = [str(b.path) for b in banks if b.keypoints is None]
    if missing:
        reason = f"{', '.join(missing)} has no source keypoints"
    else:
        first = banks[0]
        for b in banks[1:]:
            if b.keypoint_names != first.keypoint_names:
                reason = f"{first.path} and {b.path} name different source keypoints"
            elif (b.keypoint_parents is None) != (first.keypoint_parents is None) or (
                    b.keypoint_parents is not None and not np.array_equal(b.keypoint_parents,
                                                                          first.keypoint_parents)):
                reason = f"{first.path} and {b.path} have different keypoint parents"
            elif not same_attr_value(b.attrs.get("source_fps"), first.attrs.get("source_fps")):
                reason = (f"{first.path} and {b.path} have different source frame rates "
                          f"({show_attr_value(first.attrs.get('source_fps'))} vs {show_attr_value(b.attrs.get('source_fps'))})")
            if reason:
                break
    if reason:
        if not missing or len(missing) < len(banks):
            notes.append(f"source keypoints dropped: {reason}")
        return None, (), None, [0] * len(banks)
    offsets = np.concatenate([[0], np.cumsum([len(b.keypoints) for b in banks])[:-1]]).astype(int).tolist()
    return (np.concatenate([b.keypoints for b in banks], axis=0), banks[0].keypoint_names,
            banks[0].keypoint_parents, offsets)


def _merged_attrs(banks: list[Bank]) -> dict:
    attrs = {}
    for key, value in banks[0].attrs.items():
        if key in PER_CLIP_ATTRS or key in REWRITTEN_ATTRS:
            continue
        if all(key in b.attrs and same_attr_value(b.attrs[key], value) for b in banks[1:]):
            attrs[key] = value
    attrs["schema_version"] = banks[0].attrs["schema_version"]
    return attrs


def merge_banks(banks: list[Bank], bank_weights: list[float] | None = None) -> MergeResult:
    """One bank holding every clip of `banks`, in order. See the module docstring for the rules."""
    if not banks:
        raise InputError(None, "no banks to merge")
    if bank_weights is not None and len(bank_weights) != len(banks):
        raise InputError(None, f"{len(bank_weights)} weight(s) for {len(banks)} bank(s)")
    check_compatible(banks, "merge")
    notes: list[str] = []
    keypoints, kp_names, kp_parents, kp_offsets = _merged_keypoints(banks, notes)
    names = _unique_names(banks)
    frame_offsets = np.concatenate([[0], np.cumsum([b.num_frames for b in banks])[:-1]]).astype(int).tolist()
    clips = []
    for i, bank in enumerate(banks):
        weights = _bank_clip_weights(bank, None if bank_weights is None else bank_weights[i])
        for clip, name, weight in zip(bank.clips, names[i], weights):
            has_kp = keypoints is not None
            clips.append(dataclasses.replace(
                clip, name=name, start=clip.start + frame_offsets[i], stop=clip.stop + frame_offsets[i],
                weight=float(weight),
                keypoint_start=clip.keypoint_start + kp_offsets[i] if has_kp else 0,
                keypoint_stop=clip.keypoint_stop + kp_offsets[i] if has_kp else 0))
    data = {name: np.concatenate([b[name] for b in banks], axis=0) for name in DATASETS}
    quality = {}
    keys = [set(b.quality) for b in banks]
    if keys[0] and all(k == keys[0] for k in keys):
        quality = {k: np.concatenate([b.quality[k] for b in banks]) for k in banks[0].quality}
    elif any(keys):
        notes.append("quality figures dropped: not every input bank has the same ones")
    merged = Bank(None, data, _merged_attrs(banks), keypoints, kp_names, kp_parents, clips, quality)
    return MergeResult(merged, notes)


def merge_files(paths: list[str | Path], bank_weights: list[float] | None = None) -> MergeResult:
    """Read (and check) the banks at `paths`, then merge them."""
    return merge_banks([read_bank(p) for p in paths], bank_weights)
