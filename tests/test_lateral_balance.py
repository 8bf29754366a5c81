"""benchmarks/lateral_balance.py: the pendulum's closed form against integration, the geometry on hand-made
cases, and the command line on banks of two stance widths."""

import json

import h5py
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from benchmarks import lateral_balance as lb


def test_the_pendulum_s_periodic_sway_matches_integrating_it_over_alternating_support_lines():
    d, half, h = 0.12, 0.26, 0.30
    tau = np.sqrt(h / lb.G_M_S2)
    speed, sway = lb.pendulum_sway(d, half, h)
    y, v, peak = 0.0, speed, 0.0
    for k in range(6):                               # left line, right line, ... from the midline
        p = d if k % 2 == 0 else -d
        sol = solve_ivp(lambda t, s: [s[1], (s[0] - p) / tau ** 2], (0, half), [y, v], rtol=1e-10, atol=1e-12,
                        dense_output=True)
        ts = np.linspace(0, half, 401)
        ys = sol.sol(ts)[0]
        peak = max(peak, np.abs(ys).max())
        assert np.all(np.sign(ys[1:-1]) == np.sign(p))           # stays on its support's side
        y, v = sol.y[0, -1], sol.y[1, -1]
        assert y == pytest.approx(0.0, abs=1e-6)                  # back on the midline after each phase
        assert v == pytest.approx(-speed if k % 2 == 0 else speed, rel=1e-5)
    assert peak == pytest.approx(sway, rel=1e-4)
    # slower than that and the body falls back towards the side it came from, within the phase
    sol = solve_ivp(lambda t, s: [s[1], (s[0] - d) / tau ** 2], (0, half), [0.0, 0.9 * speed], rtol=1e-10)
    assert sol.y[0, -1] < -0.002
    # the inverse, and the limits: no line, no sway; a long phase needs d / tau
    assert lb.widest_line_m(speed, half, h) == pytest.approx(d)
    assert lb.pendulum_sway(0.0, half, h) == (0.0, 0.0)
    assert lb.pendulum_sway(d, 100.0, h)[0] == pytest.approx(d / tau)


def test_line_distance_and_lateral_pairs_on_hand_made_cases():
    a, b = np.array([[0.2, 0.1], [0.2, -0.2]]), np.array([[-0.2, 0.1], [-0.2, 0.0]])
    assert lb.distance_to_line_m(a, b) == pytest.approx([0.1, 0.1 / np.hypot(1.0, 0.5)])
    assert lb.distance_to_line_m(a[0], b[0], p_xy=[0.0, 0.05]) == pytest.approx(0.05)
    contacts = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 0, 1], [1, 1, 1, 0], [1, 0, 1, 0], [0, 0, 0, 0]])
    assert lb.lateral_pair_side(contacts).tolist() == [1, -1, 0, 0, 1, 0]
    assert lb.run_lengths(np.array([1, 1, 0, 1, 0, 0, 1, 1, 1], bool)).tolist() == [2, 1, 3]
    assert lb.run_lengths(np.zeros(3, bool)).tolist() == []


@pytest.fixture(scope="module")
def walk_banks_two_widths(mocap, tmp_path_factory):
    from typer.testing import CliRunner

    import cli
    out = {}
    for width in (0.284, 0.12):
        d = tmp_path_factory.mktemp(f"walk_{width}")
        r = CliRunner().invoke(cli.app, ["retarget", "walk", "--cycle", "auto", "--stance-width", str(width),
                                         "-o", str(d)])
        assert r.exit_code == 0, r.output
        out[width] = d / "walk.h5"
    return out


def test_a_narrower_walk_puts_the_support_line_nearer_the_base(walk_banks_two_widths, tmp_path, capsys):
    rows = {}
    for width, path in walk_banks_two_widths.items():
        js = tmp_path / f"{width}.json"
        assert lb.main([str(path), "--json", str(js)]) == 0
        (r,) = json.loads(js.read_text())
        rows[width] = r
        assert r["lateral_pair_share"] > 0.3                       # the dog's walk: lateral couplets
        with h5py.File(path) as f:
            feet, c = f["foot_pos_base"][:], f["contacts"][:].astype(bool)
        side_y = [np.median(np.abs(feet[c[:, k], k, 1])) for k in range(4)]
        # the line between a fore and a hind foot passes the base between their distances from the midline
        assert 0.9 * min(side_y) < r["go2_line_m"] < max(side_y)
        assert r["dog_line_m"] < r["go2_line_m"]
        speed, _ = lb.pendulum_sway(r["go2_line_m"], r["lateral_pair_phase_s"], r["base_height_m"])
        assert r["go2_speed_m_s"] == pytest.approx(speed)
    assert rows[0.12]["go2_line_m"] < 0.7 * rows[0.284]["go2_line_m"]
    assert rows[0.12]["go2_speed_m_s"] < 0.7 * rows[0.284]["go2_speed_m_s"]
    assert rows[0.12]["dog_line_m"] == pytest.approx(rows[0.284]["dog_line_m"], abs=0.01)   # the same dog
    assert "cm from the base" in capsys.readouterr().out


def test_a_missing_bank_is_refused_with_one_line(tmp_path, capsys):
    assert lb.main([str(tmp_path / "nope.h5")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.h5" in err[0]
