"""The discriminator's negatives: the reservoir of the whole run's policy windows against the inclusion
probability of reservoir sampling (capacity / seen for every item), and the recent/history mix."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra of the learner: pip install torch")

from learner.amp import PolicyWindows, WindowReservoir  # noqa: E402


def _stream(reservoir, n_items, batch_sizes):
    """Add windows 0..n_items-1 (frame 0 holds the item's index, frame 1 index + 0.5) in the given batch
    sizes."""
    start, i = 0, 0
    while start < n_items:
        b = min(batch_sizes[i % len(batch_sizes)], n_items - start)
        x = torch.arange(start, start + b, dtype=torch.float32)[:, None].repeat(1, 3)
        reservoir.add(torch.cat([x, x + 0.5], 1))
        start, i = start + b, i + 1


def test_reservoir_holds_every_item_with_probability_capacity_over_seen():
    torch.manual_seed(0)
    capacity, n_items, trials = 10, 60, 4000
    counts = np.zeros(n_items)
    for _ in range(trials):
        r = WindowReservoir(6, capacity, "cpu")
        _stream(r, n_items, [7, 1, 13, 4])   # batches that straddle the fill point and repeat slots
        held = r.x[:, 0].numpy().astype(int)
        assert r.size == capacity and r.seen == n_items
        assert len(set(held)) == capacity                       # no item twice
        assert np.array_equal(r.x[:, 3].numpy(), r.x[:, 0].numpy() + 0.5)   # windows stay whole
        counts[held] += 1
    p = capacity / n_items
    sd = np.sqrt(trials * p * (1 - p))
    assert np.all(np.abs(counts - trials * p) < 5 * sd), (counts.min(), counts.max(), trials * p)
    # first and last items alike: a FIFO would hold only the last 10, a biased reservoir skews one end
    assert abs(counts[:20].mean() - counts[-20:].mean()) < 3 * sd


def test_reservoir_keeps_everything_until_full():
    r = WindowReservoir(6, 50, "cpu")
    _stream(r, 37, [5, 9])
    assert r.size == 37 and sorted(r.x[:37, 0].int().tolist()) == list(range(37))


def test_policy_pairs_mix_recent_and_history():
    torch.manual_seed(1)
    pairs = PolicyWindows(6, recent_capacity=20, history_capacity=200, history_fraction=0.25, device="cpu")
    _stream(pairs, 1000, [10])
    x = pairs.sample(400)
    s, s_next = x[:, :3], x[:, 3:]
    assert s.shape == (400, 3) and torch.equal(s_next, s + 0.5)
    recent = s[:300, 0]
    assert recent.min() >= 980                                   # the recent FIFO: the last 20 items
    old = (s[300:, 0] < 980).float().mean().item()
    assert old > 0.9                                             # the history reaches back over the run
    off = PolicyWindows(6, recent_capacity=20, history_capacity=0, history_fraction=0.5, device="cpu")
    _stream(off, 100, [10])
    assert off.history is None and off.sample(50)[:, 0].min() >= 80
