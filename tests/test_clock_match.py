"""benchmarks/clock_match.py's touchdown lag against the schedule, on clocks whose events are placed by hand."""

import numpy as np
import pytest

from benchmarks.clock_match import event_lag_cycles


def test_event_lag_is_the_circular_mean_offset_from_the_schedule():
    phase = (np.arange(2000) * 0.013) % 1.0          # a clock over many cycles, events picked by phase below
    for scheduled, true_lag in ((0.0, 0.07), (0.96, 0.08), (0.05, -0.12), (0.5, 0.0)):
        want = (scheduled + true_lag) % 1.0
        gap = np.abs((phase - want + 0.5) % 1.0 - 0.5)
        steps = np.flatnonzero(gap < 0.0066)          # every step within half a clock step of the event phase
        assert len(steps) > 20
        assert event_lag_cycles(phase, steps, scheduled) == pytest.approx(true_lag, abs=0.004)
    # events that straddle the wrap (0.98 and 0.02 against 0.0): a mean of 0, not 0.5
    assert event_lag_cycles(np.array([0.98, 0.02]), np.array([0, 1]), 0.0) == pytest.approx(0.0, abs=1e-12)
    assert event_lag_cycles(np.array([0.3, 0.5]), np.array([1]), 0.9) == pytest.approx(-0.4)
    assert np.isnan(event_lag_cycles(phase, np.array([], dtype=int), 0.3))
