"""The learner's math against independent truth: n-step returns and time-out bootstrapping written out by
hand, the tanh-squashed density against the change of variables and numerical integration, the gradient
penalty against finite differences, the PD law and the Table III reward terms on hand-set numbers, the
running normaliser against numpy, config overrides and round trips, projected gravity against scipy."""

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra of the learner: pip install torch")

from learner import config as lcfg  # noqa: E402
from learner.amp import Discriminator, gradient_penalty  # noqa: E402
from learner.networks import RunningNorm, SquashedGaussianActor, squash  # noqa: E402
from learner.replay import NStepReplay, nstep_returns  # noqa: E402
from learner.rewards import amp_reward, reward_terms, tracking_lin_vel_x  # noqa: E402

G = 0.9  # gamma of the hand-computed n-step cases


# ------------------------------------------------------------------------------------- 1. n-step returns

def _nstep(rewards, terminated, timed_out, stop_at_done=True, timeout_bootstrap=True):
    r = torch.tensor(rewards, dtype=torch.float64)
    term = torch.tensor(terminated, dtype=torch.bool)
    tout = torch.tensor(timed_out, dtype=torch.bool)
    ret, k, disc = nstep_returns(r, term, tout, G, stop_at_done=stop_at_done, timeout_bootstrap=timeout_bootstrap)
    return ret.numpy(), k.numpy(), disc.numpy()


R = [[1.0, 2.0, 4.0]] * 6
NO = [False, False, False]
# windows: 0 no end; 1-3 termination at k = 0, 1, 2; 4 time-out at k = 1; 5 termination at k = 0 and again at 2
TERM = [NO, [True, False, False], [False, True, False], [False, False, True], NO, [True, False, True]]
TOUT = [NO, NO, NO, NO, [False, True, False], NO]


def test_nstep_returns_stop_at_done_with_timeout_bootstrap():
    ret, k, disc = _nstep(R, TERM, TOUT)
    np.testing.assert_allclose(ret, [1 + 0.9 * 2 + 0.81 * 4,   # 6.04: no end, all three rewards
                                     1.0,                      # terminated at 0: its reward only
                                     1 + 0.9 * 2,              # 2.8
                                     6.04,                     # terminated at 2: all three
                                     2.8,                      # timed out at 1
                                     1.0], atol=1e-12)
    np.testing.assert_array_equal(k, [2, 0, 1, 2, 1, 0])
    # failures zero the bootstrap; the time-out keeps gamma^(k+1) = 0.81
    np.testing.assert_allclose(disc, [0.729, 0.0, 0.0, 0.0, 0.81, 0.0], atol=1e-12)


def test_nstep_returns_timeout_without_bootstrap():
    ret, k, disc = _nstep(R, TERM, TOUT, timeout_bootstrap=False)
    np.testing.assert_allclose(ret, [6.04, 1.0, 2.8, 6.04, 2.8, 1.0], atol=1e-12)
    np.testing.assert_array_equal(k, [2, 0, 1, 2, 1, 0])
    np.testing.assert_allclose(disc, [0.729, 0.0, 0.0, 0.0, 0.0, 0.0], atol=1e-12)


def test_nstep_returns_naive_sum_across_episode_ends():
    ret, k, disc = _nstep(R, TERM, TOUT, stop_at_done=False)
    np.testing.assert_allclose(ret, [6.04] * 6, atol=1e-12)
    np.testing.assert_array_equal(k, [2] * 6)
    # bootstrap from the last transition: zero only where that one is a failure
    np.testing.assert_allclose(disc, [0.729, 0.729, 0.729, 0.0, 0.729, 0.0], atol=1e-12)
    _, _, disc = _nstep(R, TERM, TOUT, stop_at_done=False, timeout_bootstrap=False)
    np.testing.assert_allclose(disc, [0.729, 0.729, 0.729, 0.0, 0.729, 0.0], atol=1e-12)
    # a time-out on the last transition: kept with the fix, zeroed without
    tout_last = [[False, False, True]]
    assert _nstep([[1.0, 2.0, 4.0]], [NO], tout_last, stop_at_done=False)[2][0] == pytest.approx(0.729)
    assert _nstep([[1.0, 2.0, 4.0]], [NO], tout_last, stop_at_done=False, timeout_bootstrap=False)[2][0] == 0.0


def test_nstep_returns_other_window_lengths():
    ret, k, disc = _nstep([[3.0], [3.0]], [[False], [True]], [[False], [False]])
    np.testing.assert_allclose(ret, [3.0, 3.0])
    np.testing.assert_allclose(disc, [0.9, 0.0])
    r5 = [[1.0, 1.0, 1.0, 1.0, 1.0]]
    ret, k, disc = _nstep(r5, [[False] * 5], [[False, False, False, True, False]])
    assert ret[0] == pytest.approx(1 + 0.9 + 0.81 + 0.729) and k[0] == 3 and disc[0] == pytest.approx(0.6561)


# ------------------------------------------------------------------------ 2. NStepReplay, end to end

def _filled_replay(steps, rows_capacity, term_at=None, tout_at=None):
    """2 envs; obs = (t, env), next_obs = (t + 0.5, env) (a pre-reset value no obs has), reward t + 1 + 10 env,
    action t."""
    rb = NStepReplay(num_envs=2, capacity=2 * rows_capacity, obs_dim=2, act_dim=1, device="cpu", n_step=3)
    assert rb.rows == rows_capacity
    env = torch.tensor([0.0, 1.0])
    for t in range(steps):
        obs = torch.stack([torch.full((2,), float(t)), env], 1)
        next_obs = torch.stack([torch.full((2,), t + 0.5), env], 1)
        rew = t + 1.0 + 10.0 * env
        term = torch.tensor([False, term_at == t])
        tout = torch.tensor([tout_at == t, False])
        rb.add(obs, torch.full((2, 1), float(t)), rew, next_obs, term, tout)
    return rb


def _sample_by_start(rb, timeout_bootstrap, stop_at_done=True, batch=3000):
    gen = torch.Generator().manual_seed(0)
    obs, act, ret, boot, disc = rb.sample(batch, G, stop_at_done, timeout_bootstrap, generator=gen)
    np.testing.assert_array_equal(act[:, 0].numpy(), obs[:, 0].numpy())   # action stored with its obs
    np.testing.assert_array_equal(boot[:, 1].numpy(), obs[:, 1].numpy())   # same env throughout
    by = {}
    for o, g, b, d in zip(obs.numpy(), ret.numpy(), boot.numpy(), disc.numpy()):
        key = (int(o[0]), int(o[1]))
        row = (round(float(g), 4), float(b[0]), round(float(d), 6))
        assert by.setdefault(key, row) == row, f"window {key} sampled with two different targets"
    return by


def test_replay_timeout_bootstraps_from_pre_reset_obs_termination_does_not():
    # env 0 times out at t = 4, env 1 terminates at t = 4; 8 steps, no wrap-around
    rb = _filled_replay(steps=8, rows_capacity=10, term_at=4, tout_at=4)
    by = _sample_by_start(rb, timeout_bootstrap=True)
    assert set(by) == {(t, e) for t in range(6) for e in (0, 1)}   # every full window, and only those
    # env 0 (rewards t + 1): time-out at 4
    assert by[(0, 0)] == (round(1 + 0.9 * 2 + 0.81 * 3, 4), 2.5, 0.729)
    assert by[(2, 0)] == (round(3 + 0.9 * 4 + 0.81 * 5, 4), 4.5, 0.729)  # ends exactly at the time-out
    assert by[(3, 0)] == (round(4 + 0.9 * 5, 4), 4.5, 0.81)               # k = 1: the pre-reset obs of step 4
    assert by[(4, 0)] == (5.0, 4.5, 0.9)                                  # k = 0
    assert by[(5, 0)] == (round(6 + 0.9 * 7 + 0.81 * 8, 4), 7.5, 0.729)  # the next episode
    # env 1 (rewards t + 11): terminated at 4 -> no bootstrap
    assert by[(3, 1)] == (round(14 + 0.9 * 15, 4), 4.5, 0.0)
    assert by[(4, 1)] == (15.0, 4.5, 0.0)
    assert by[(1, 1)] == (round(12 + 0.9 * 13 + 0.81 * 14, 4), 3.5, 0.729)

    by = _sample_by_start(rb, timeout_bootstrap=False)
    assert by[(3, 0)] == (round(4 + 0.9 * 5, 4), 4.5, 0.0)
    assert by[(4, 0)] == (5.0, 4.5, 0.0)
    assert by[(2, 0)] == (round(3 + 0.9 * 4 + 0.81 * 5, 4), 4.5, 0.0)
    assert by[(1, 0)] == (round(2 + 0.9 * 3 + 0.81 * 4, 4), 3.5, 0.729)


def test_replay_windows_never_cross_the_write_head():
    # 5 rows; 12 steps written -> steps 7..11 kept, rows hold [10, 11, 7, 8, 9], write head at row 2
    rb = _filled_replay(steps=12, rows_capacity=5)
    assert len(rb) == 10
    by = _sample_by_start(rb, timeout_bootstrap=True, batch=2000)
    assert set(by) == {(t, e) for t in (7, 8, 9) for e in (0, 1)}
    for (t, e), (g, boot, d) in by.items():
        r = t + 1 + 10 * e   # consecutive steps t, t+1, t+2 of one env
        assert g == round(r + 0.9 * (r + 1) + 0.81 * (r + 2), 4)
        assert boot == t + 2.5 and d == 0.729
    # one step more: the oldest window start moves on
    rb.add(torch.tensor([[12.0, 0.0], [12.0, 1.0]]), torch.full((2, 1), 12.0), torch.tensor([13.0, 23.0]),
           torch.tensor([[12.5, 0.0], [12.5, 1.0]]), torch.zeros(2, dtype=torch.bool), torch.zeros(2, dtype=torch.bool))
    assert {t for t, _ in _sample_by_start(rb, timeout_bootstrap=True, batch=2000)} == {8, 9, 10}


def test_replay_refuses_to_sample_before_one_full_window():
    rb = _filled_replay(steps=2, rows_capacity=10)
    with pytest.raises(RuntimeError):
        rb.sample(4, G, True, True)


def test_replay_reward_of_rewrites_each_step_of_the_window_before_the_sum():
    rb = NStepReplay(num_envs=1, capacity=10, obs_dim=1, act_dim=1, device="cpu", n_step=3, aux_dim=2)
    for t in range(6):
        term = torch.tensor([t == 3])
        rb.add(torch.full((1, 1), float(t)), torch.zeros((1, 1)), torch.tensor([1.0]), torch.zeros((1, 1)),
               term, torch.tensor([False]), aux=torch.tensor([[100.0 * t, 7.0]]))
    gen = torch.Generator().manual_seed(0)
    obs, _, ret, _, disc = rb.sample(400, G, True, True, generator=gen,
                                     reward_of=lambda rew, aux: rew + aux[..., 0] - aux[..., 1])
    by = {int(o): (float(g), float(d)) for o, g, d in zip(obs[:, 0], ret, disc)}
    # reward of step t is 1 + 100 t - 7; the window from t = 2 stops at the termination at t = 3
    assert by[0] == pytest.approx((-6 + 0.9 * 94 + 0.81 * 194, 0.729), rel=1e-6)
    assert by[2] == pytest.approx((194 + 0.9 * 294, 0.0), rel=1e-6)
    obs, _, ret_plain, _, _ = rb.sample(400, G, True, True, generator=torch.Generator().manual_seed(0))
    plain = {int(o): float(g) for o, g in zip(obs[:, 0], ret_plain)}   # the stored rewards, 1 per step
    assert plain[0] == pytest.approx(1 + 0.9 + 0.81) and plain[2] == pytest.approx(1.9)


@pytest.mark.parametrize("relabel", [True, False])
def test_sac_style_reward_relabelled_with_the_current_discriminator(relabel):
    from types import SimpleNamespace

    from learner.sac import AmpSac

    cfg = lcfg.make_config("cpu", "sac")
    cfg.env.num_envs, cfg.sac.hidden, cfg.amp.hidden = 4, (8,), (8,)
    cfg.sac.replay_size, cfg.sac.relabel_style_reward = 400, relabel
    agent = AmpSac(cfg, obs_dim=3, act_dim=2, action_low=-np.ones(2), action_high=np.ones(2), expert=None,
                   device="cpu")

    def set_d(value):   # D(s, s') = value everywhere: r_AMP = max(0, 1 - (value - 1)^2 / 4)
        with torch.no_grad():
            agent.disc.head.weight.zero_()
            agent.disc.head.bias.fill_(value)

    set_d(-1.0)   # r_AMP = 0 while collecting
    rng = np.random.default_rng(0)
    for _ in range(20):
        res = SimpleNamespace(amp_window=rng.normal(size=(4, 86)),
                              task_reward=np.full(4, 2.0), next_obs=rng.normal(size=(4, 3)),
                              terminated=np.zeros(4, bool), timed_out=np.zeros(4, bool))
        agent.observe(rng.normal(size=(4, 3)), rng.uniform(-1, 1, size=(4, 2)), res)
    gamma = cfg.sac.gamma
    window = 1 + gamma + gamma ** 2
    set_d(1.0)    # r_AMP = 1 now
    # through the real update: the returns its critic target is built from (deleting `reward_of=` in
    # AmpSac._update_once makes the relabelled case fail)
    sampled = []
    real_sample = agent.replay.sample

    def spy(*args, **kwargs):
        out = real_sample(*args, **kwargs)
        sampled.append(out[2].detach().clone())
        return out
    agent.replay.sample = spy
    agent._update_once(with_disc=False, prev={})
    assert len(sampled) == 1
    ret = sampled[0]
    w = cfg.reward
    want = (w.w_task * 2.0 + (w.w_amp * w.amp_reward_coef if relabel else 0.0)) * window
    np.testing.assert_allclose(ret.numpy(), want, rtol=1e-6)


# ------------------------------------------------------------------ 3. tanh-squashed Gaussian density

def test_correlated_exploration_is_an_ar1_process_of_unit_variance():
    """sac.exploration_tau_s: the noise behind the sampled actions has std 1 at every step and the
    autocorrelation exp(-k dt / tau) at lag k (an Ornstein-Uhlenbeck process sampled every dt); with the
    mean and std of the policy it gives the squashed action mu + std eps. White noise has none."""
    from learner.sac import AmpSac

    cfg = lcfg.make_config("cpu", "sac")
    cfg.env.num_envs, cfg.sac.hidden, cfg.amp.hidden, cfg.sac.replay_size = 2000, (8,), (8,), 400
    cfg.sac.exploration_tau_s = 0.1
    agent = AmpSac(cfg, obs_dim=3, act_dim=2, action_low=-np.ones(2), action_high=np.ones(2), expert=None,
                   device="cpu")
    torch.manual_seed(0)
    eps = torch.stack([agent._correlated_noise(2000, 2) for _ in range(60)]).numpy()[10:]   # (50, 2000, 2)
    np.testing.assert_allclose(eps.std(axis=1), 1.0, atol=0.06)
    rho = math.exp(-0.02 / 0.1)
    for k in (1, 5, 10):
        lag = np.mean(eps[k:] * eps[:-k]) / np.mean(eps * eps)
        assert abs(lag - rho ** k) < 0.03, (k, lag, rho ** k)
    obs = torch.randn(2000, 3)
    mu, log_std = agent.actor(agent.obs_norm.normalize(obs))
    a = agent.act(obs.numpy())
    u = torch.atanh(torch.as_tensor(a).clamp(-0.999999, 0.999999))
    np.testing.assert_allclose(((u - mu) / log_std.exp()).detach().numpy(), agent._noise.numpy(), atol=1e-3)

    def noise_of_two_steps(agent):
        mu, log_std = agent.actor(agent.obs_norm.normalize(obs))
        e = [((torch.atanh(torch.as_tensor(agent.act(obs.numpy())).clamp(-0.999999, 0.999999)) - mu)
              / log_std.exp()).detach().numpy().ravel() for _ in range(2)]
        return np.corrcoef(e[0], e[1])[0, 1]

    assert abs(noise_of_two_steps(agent) - rho) < 0.03
    cfg.sac.exploration_tau_s = 0.0
    white = AmpSac(cfg, obs_dim=3, act_dim=2, action_low=-np.ones(2), action_high=np.ones(2), expert=None,
                   device="cpu")
    assert abs(noise_of_two_steps(white)) < 0.05


def _log_normal(u, mu, sigma):
    return -0.5 * ((u - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def _actor(low, high, init_std, seed=0):
    torch.manual_seed(seed)
    actor = SquashedGaussianActor(obs_dim=3, act_dim=len(low), hidden=(16, 16), activation="gelu", low=low,
                                  high=high, small_init=True, init_std=init_std)
    obs = torch.tensor([[0.3, -1.2, 0.7]])
    return actor, obs


def test_actor_log_prob_equals_change_of_variables_per_dimension():
    low, high = np.array([-0.5, -2.0, -0.2]), np.array([1.5, 1.0, 0.1])
    actor, obs = _actor(low, high, init_std=0.7)
    actor, obs = actor.double(), obs.double()   # float64 so that atanh of actions near the bounds stays exact
    with torch.no_grad():
        mu, log_std = (x[0].numpy() for x in actor(obs))
        a, logp = actor.sample(obs.expand(4000, -1))
    a, logp = a.numpy(), logp.numpy()
    assert np.all((a >= low) & (a <= high))
    c, h = actor.center.numpy(), actor.half_range.numpy()   # the bounds as stored (float32-rounded)
    np.testing.assert_allclose(c, (high + low) / 2, rtol=1e-6)
    np.testing.assert_allclose(h, (high - low) / 2, rtol=1e-6)
    x = (a - c) / h
    ok = np.all(np.abs(x) < 1 - 1e-9, axis=1)
    assert ok.mean() > 0.99
    u = np.arctanh(x[ok])
    expected = np.sum(_log_normal(u, mu, np.exp(log_std)) - np.log(h * (1 - x[ok] ** 2)), axis=1)
    np.testing.assert_allclose(logp[ok], expected, atol=1e-6, rtol=1e-9)


def test_squashed_density_integrates_to_one_and_matches_the_samples():
    low, high = np.array([-0.5]), np.array([1.5])
    actor, obs = _actor(low, high, init_std=0.8)
    with torch.no_grad():
        mu, log_std = actor(obs)
    mu_, sigma = float(mu[0, 0]), float(log_std[0, 0].exp())
    c = torch.tensor([0.5], dtype=torch.float64)
    h = torch.tensor([1.0], dtype=torch.float64)

    def module_log_pi(a):
        """log pi(a) from the module's pieces: log N(u) - squash's log |da/du| at u = atanh((a - c) / h)."""
        u = torch.atanh((torch.as_tensor(a, dtype=torch.float64)[:, None] - c) / h)
        a_back, log_det = squash(u, c, h)
        np.testing.assert_allclose(a_back[:, 0].numpy(), a, atol=1e-9)
        return _log_normal(u[:, 0].numpy(), mu_, sigma) - log_det.numpy()

    # the density integrates to 1 over [low, high] (midpoint rule; the integrand vanishes at both ends)
    edges = np.linspace(-0.5, 1.5, 200_001)
    mids = 0.5 * (edges[1:] + edges[:-1])
    dens = np.exp(module_log_pi(mids))
    assert np.sum(dens) * (edges[1] - edges[0]) == pytest.approx(1.0, abs=1e-4)
    # against the analytic change of variables N(atanh((a - c)/h); mu, sigma) / (h (1 - ((a - c)/h)^2))
    pts = np.array([-0.45, -0.2, 0.0, 0.3, 0.9, 1.4])
    y = pts - 0.5
    analytic = np.exp(-0.5 * ((np.arctanh(y) - mu_) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi)) / (1 - y ** 2)
    np.testing.assert_allclose(np.exp(module_log_pi(pts)), analytic, rtol=1e-9)
    # the actor's samples follow that density (histogram), and its own log-probs agree with it
    torch.manual_seed(1)
    with torch.no_grad():
        a, logp = actor.double().sample(obs.double().expand(200_000, -1))
    a = a[:, 0].numpy()
    hist, _ = np.histogram(a, bins=20, range=(-0.5, 1.5), density=True)
    fine = np.linspace(-0.5, 1.5, 20 * 200 + 1)   # exact bin averages of the density
    bin_avg = np.exp(module_log_pi(0.5 * (fine[1:] + fine[:-1]))).reshape(20, 200).mean(1)
    np.testing.assert_allclose(hist, bin_avg, atol=0.03, rtol=0.05)
    inner = np.abs(a - 0.5) < 1 - 1e-9
    np.testing.assert_allclose(logp.numpy()[inner], module_log_pi(a[inner]), atol=1e-6)


def test_squash_log_det_against_autograd_and_stable_for_large_u():
    torch.manual_seed(2)
    center = torch.tensor([0.1, -0.3, 0.0, 2.0], dtype=torch.float64)
    half = torch.tensor([0.5, 1.0, 2.0, 0.25], dtype=torch.float64)
    for u in torch.randn(6, 4, dtype=torch.float64) * 3:
        jac = torch.autograd.functional.jacobian(lambda v: squash(v, center, half)[0], u)
        np.testing.assert_allclose(jac.numpy() - np.diag(np.diag(jac.numpy())), 0.0, atol=0)
        log_det = squash(u, center, half)[1]
        assert float(log_det) == pytest.approx(float(torch.log(torch.diagonal(jac)).sum()), rel=1e-10, abs=1e-10)
    # |u| up to 20: log(h (1 - tanh^2 u)) = log h - 2 log cosh u, log cosh u = logaddexp(u, -u) - log 2
    u = np.array([-20.0, -15.0, -8.0, -1.0, 0.0, 1.0, 8.0, 15.0, 20.0])
    exact = np.log(0.5) - 2 * (np.logaddexp(u, -u) - np.log(2))
    for dtype in (torch.float64, torch.float32):
        ut = torch.tensor(u, dtype=dtype)[:, None].requires_grad_(True)
        a, log_det = squash(ut, torch.tensor([0.0], dtype=dtype), torch.tensor([0.5], dtype=dtype))
        assert torch.isfinite(log_det).all() and torch.isfinite(a).all()
        np.testing.assert_allclose(log_det.detach().double().numpy(), exact, rtol=1e-5, atol=1e-5)
        (grad,) = torch.autograd.grad(log_det.sum(), ut)
        # d/du log(1 - tanh^2 u) = -2 tanh u
        np.testing.assert_allclose(grad[:, 0].double().numpy(), -2 * np.tanh(u), atol=1e-5)


# ---------------------------------------------------------------------------------- 4. gradient penalty

def _disc64(seed=3):
    torch.manual_seed(seed)
    return Discriminator(amp_obs_dim=3, hidden=(16, 16)).double()


def test_gradient_penalty_equals_finite_difference_gradient_norm():
    disc = _disc64()
    s, s_next = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    x = torch.cat([s, s_next], 1)
    eps = 1e-6
    grads = torch.zeros_like(x)
    with torch.no_grad():
        for i in range(6):
            dx = torch.zeros(6, dtype=torch.float64)
            dx[i] = eps
            xp, xm = x + dx, x - dx
            grads[:, i] = (disc(xp) - disc(xm)) / (2 * eps)
    expected = float(grads.square().sum(1).mean())
    assert expected > 1e-3
    assert gradient_penalty(disc, x).item() == pytest.approx(expected, rel=1e-6)


def test_gradient_penalty_is_differentiable_in_the_discriminator_weights():
    disc = _disc64()
    x = torch.randn(5, 6, dtype=torch.float64)
    gp = gradient_penalty(disc, x)
    disc.zero_grad()
    gp.backward()
    for param, idx in ((disc.trunk[0].weight, (2, 1)), (disc.head.weight, (0, 4)), (disc.trunk[2].weight, (1, 3))):
        analytic = float(param.grad[idx])
        eps = 1e-6
        with torch.no_grad():
            param[idx] += eps
        plus = gradient_penalty(disc, x).item()
        with torch.no_grad():
            param[idx] -= 2 * eps
        minus = gradient_penalty(disc, x).item()
        with torch.no_grad():
            param[idx] += eps
        fd = (plus - minus) / (2 * eps)
        assert abs(fd) > 1e-6
        assert analytic == pytest.approx(fd, rel=1e-5, abs=1e-9)


# ---------------------------------------------------------------------------------------- 5. PD law

def test_pd_torques_hand_values_clipping_and_per_env_gains():
    pytest.importorskip("mujoco", reason="mujoco is an optional extra: pip install '.[learn]'")
    from learner.mujoco_backend import pd_torques

    q_target = np.array([[0.5, 1.0, -1.5], [0.0, 0.8, -2.0]])
    q = np.array([[0.4, 1.2, -1.5], [0.1, 0.8, -1.0]])
    qd = np.array([[1.0, 0.0, -2.0], [-3.0, 10.0, 0.0]])
    kp = np.array([[20.0], [40.0]])
    kd = np.array([[0.5], [1.0]])
    limit = np.array([23.7, 23.7, 35.55])
    tau = pd_torques(q_target, q, qd, kp, kd, limit)
    # env 0: 20*0.1 - 0.5*1 = 1.5;  20*(-0.2) - 0 = -4;  0 - 0.5*(-2) = 1
    # env 1: 40*(-0.1) - 1*(-3) = -1;  0 - 10 = -10;  40*(-1) = -40 -> clipped to -35.55
    np.testing.assert_allclose(tau, [[1.5, -4.0, 1.0], [-1.0, -10.0, -35.55]], atol=1e-12)
    # a scalar limit clips both ways
    np.testing.assert_allclose(pd_torques(np.array([1.0, -1.0]), np.zeros(2), np.zeros(2), 50.0, 0.0, 23.7),
                               [23.7, -23.7])


# ------------------------------------------------------------------------------------ 6. reward terms

DT = 0.02


def _rest_state(n):
    from robots.go2.model import default_pose_rad

    return dict(command_vx_m_s=np.full(n, 0.7), base_lin_vel_b=np.tile([0.7, 0.0, 0.0], (n, 1)),
                base_ang_vel_b=np.zeros((n, 3)), base_height_m=np.full(n, 0.3), base_height_target_m=0.3,
                body_contact=np.zeros(n, dtype=bool), foot_force_n=np.full((n, 4), 50.0),
                joint_pos=np.tile(default_pose_rad(), (n, 1)), joint_vel=np.zeros((n, 12)),
                prev_joint_vel=np.zeros((n, 12)), torques_nm=np.zeros((n, 12)))


def _terms(state):
    from robots.go2.model import soft_limits_rad

    cfg = lcfg.make_config("cpu", "sac").reward
    return reward_terms(cfg, **state, soft_limits_rad=soft_limits_rad(), dt_s=DT)


def test_reward_terms_at_rest_with_perfect_tracking():
    terms = _terms(_rest_state(3))
    assert set(terms) == {"tracking_lin_vel_x", "lin_vel_z", "ang_vel_xy", "ang_vel_z", "base_height",
                          "collision", "feet_contact_forces", "dof_acc", "dof_pos_limits", "torques"}
    np.testing.assert_allclose(terms["tracking_lin_vel_x"], 240 * 0.02, rtol=1e-12)   # 4.8 per step
    for name, v in terms.items():
        if name != "tracking_lin_vel_x":
            assert np.all(v == 0.0), name


def test_reward_terms_on_hand_set_states():
    from robots.go2.model import soft_limits_rad

    # soft limits: 95 % of the hard range about its middle; hip +-1.0472 -> +-0.99484
    soft = soft_limits_rad()
    np.testing.assert_allclose(soft[0], [-0.99484, 0.99484], atol=1e-9)
    np.testing.assert_allclose(soft[2], [-1.78023 - 0.95 * 0.94247, -1.78023 + 0.95 * 0.94247], atol=1e-5)

    s = _rest_state(8)
    s["base_lin_vel_b"][1] = [0.2, 0.3, 0.2]          # 0.5 m/s slow, lateral 0.3, vertical 0.2
    s["base_ang_vel_b"][2] = [0.3, -0.4, 0.5]         # roll/pitch rate and yaw rate
    s["base_height_m"][3] = 0.2                       # 0.1 m low
    s["body_contact"][4] = True
    s["foot_force_n"][5] = [150.0, 80.0, 100.0, 130.0]
    s["joint_pos"][6, 0] = soft[0, 1] + 0.1           # FL hip 0.1 above its soft limit
    s["joint_pos"][6, 2] = soft[2, 0] - 0.1           # FL calf 0.1 below
    s["torques_nm"][7, [0, 1, 11]] = [10.0, -20.0, 5.0]
    s["joint_vel"][7, [0, 11]] = [1.0, -2.0]          # from rest in one 0.02 s step: -50 and 100 rad/s^2
    t = _terms(s)

    track = np.full(8, 4.8)
    track[1] = 4.8 * math.exp(-0.25 / 0.25)           # (0.7 - 0.2)^2 / sigma 0.25
    np.testing.assert_allclose(t["tracking_lin_vel_x"], track, rtol=1e-12)
    expected = {  # scale * dt * raw, written out
        "lin_vel_z": (1, -15 * 0.02 * 0.04),
        "ang_vel_xy": (2, -1 * 0.02 * (0.09 + 0.16)),
        "ang_vel_z": (2, -5 * 0.02 * 0.25),
        "base_height": (3, -2 * 0.02 * 0.01),
        "collision": (4, -1 * 0.02),
        "feet_contact_forces": (5, -2 * 0.02 * (50 + 0 + 0 + 30)),
        "dof_pos_limits": (6, -4 * 0.02 * 0.2),
        "torques": (7, -5e-5 * 0.02 * (100 + 400 + 25)),
        "dof_acc": (7, -2.5e-7 * 0.02 * (50 ** 2 + 100 ** 2)),
    }
    for name, (row, value) in expected.items():
        want = np.zeros(8)
        want[row] = value
        np.testing.assert_allclose(t[name], want, rtol=1e-9, atol=1e-15, err_msg=name)


def test_feet_air_time_hand_values():
    from learner.rewards import feet_air_time

    first = np.array([[True, False, False, True], [False] * 4, [True] * 4, [True, False, False, False]])
    air = np.array([[0.5, 0.9, 0.0, 0.1], [0.3] * 4, [0.3] * 4, [0.04, 0.0, 0.0, 0.0]])
    command = np.array([0.7, 0.7, 0.7, 0.05])
    np.testing.assert_allclose(feet_air_time(first, air, 0.3, command), [0.2 - 0.2, 0.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(feet_air_time(first, air, 0.3, np.full(4, 1.0)), [0.0, 0.0, 0.0, -0.26], atol=1e-12)
    s = _rest_state(4)
    cfg = lcfg.make_config("cpu", "sac").reward
    cfg.feet_air_time = 5.0
    from robots.go2.model import soft_limits_rad
    t = reward_terms(cfg, **s, soft_limits_rad=soft_limits_rad(), dt_s=DT, foot_first_contact=first,
                     foot_air_time_s=air)
    np.testing.assert_allclose(t["feet_air_time"], 5.0 * DT * feet_air_time(first, air, 0.3, s["command_vx_m_s"]))


def test_clock_terms_gated_by_tracking_pay_a_standing_robot_little():
    """reward.gait_clock_gate_by_tracking: the clock's terms times exp(-err^2 / sigma); a robot on its
    command keeps them whole, one standing at a 0.7 m/s command keeps exp(-0.49 / 0.25) of them."""
    from robots.go2.model import soft_limits_rad

    s = _rest_state(2)
    s["base_lin_vel_b"][1] = 0.0                                  # standing still at a 0.7 m/s command
    desired = np.array([[1.0, 0.0, 0.0, 1.0]] * 2)
    extra = dict(foot_contact=np.ones((2, 4), bool), foot_contact_desired=desired,
                 foot_vel_w=np.zeros((2, 4, 3)), foot_height_m=np.full((2, 4), 0.022),
                 foot_height_reference_m=np.full((2, 4), 0.022))
    cfg = lcfg.make_config("cpu", "sac").reward
    cfg.gait_clock, cfg.gait_clock_swing_free, cfg.gait_clock_stance_still, cfg.gait_clock_swing_height = 10, 20, 30, 40
    plain = reward_terms(cfg, **s, soft_limits_rad=soft_limits_rad(), dt_s=DT, **extra)
    # all four feet down carrying 50 N, two of them scheduled down: match 0.5, swing feet loaded, stance
    # feet still, swing feet at the dog's height
    np.testing.assert_allclose(plain["gait_clock"], 10 * DT * 0.5)
    np.testing.assert_allclose(plain["gait_clock_swing_free"], 20 * DT * 0.5 * np.exp(-2500 / 100.0))
    np.testing.assert_allclose(plain["gait_clock_stance_still"], 30 * DT * 0.5)
    np.testing.assert_allclose(plain["gait_clock_swing_height"], 40 * DT * 0.5)
    cfg.gait_clock_gate_by_tracking = True
    gated = reward_terms(cfg, **s, soft_limits_rad=soft_limits_rad(), dt_s=DT, **extra)
    factor = np.array([1.0, math.exp(-0.49 / 0.25)])
    for k in ("gait_clock", "gait_clock_swing_free", "gait_clock_stance_still", "gait_clock_swing_height"):
        np.testing.assert_allclose(gated[k], plain[k] * factor, rtol=1e-12, err_msg=k)
    np.testing.assert_allclose(gated["tracking_lin_vel_x"], plain["tracking_lin_vel_x"])
    with pytest.raises(ValueError, match="none is on"):
        lcfg.validate(lcfg.apply_overrides(lcfg.make_config("cpu", "sac"), ["reward.gait_clock_gate_by_tracking=true"]))


def test_stance_loaded_pays_feet_that_bear_weight_in_stance_not_hovering_ones():
    """reward.gait_clock_stance_loaded: desired (1 - exp(-F^2 / 100)); a hovering stance foot (still, no
    force) earns gait_clock_stance_still whole but none of this term; swing feet earn nothing of it."""
    from robots.go2.model import soft_limits_rad

    s = _rest_state(2)
    s["foot_force_n"] = np.array([[50.0, 0.0, 10.0, 50.0], [0.0, 50.0, 50.0, 0.0]])
    desired = np.array([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0]])   # RR in swing
    cfg = lcfg.make_config("cpu", "sac").reward
    cfg.gait_clock_stance_loaded, cfg.gait_clock_stance_still = 30, 30
    t = reward_terms(cfg, **s, soft_limits_rad=soft_limits_rad(), dt_s=DT, foot_contact=s["foot_force_n"] > 1,
                     foot_contact_desired=desired, foot_vel_w=np.zeros((2, 4, 3)))
    loaded = 1 - np.exp(-2500 / 100.0)
    np.testing.assert_allclose(t["gait_clock_stance_loaded"],
                               30 * DT / 4 * np.array([loaded + 0 + (1 - math.exp(-1)), 0 + 2 * loaded]), rtol=1e-12)
    np.testing.assert_allclose(t["gait_clock_stance_still"], 30 * DT * 0.75)   # blind to the hovering FR / FL
    with pytest.raises(ValueError, match="needs env.gait_clock"):
        lcfg.validate(lcfg.apply_overrides(lcfg.make_config("cpu", "sac"), ["reward.gait_clock_stance_loaded=1"]))


def test_swing_height_ceiling_judges_only_feet_above_the_dog_s_height_plus_the_margin():
    """reward.gait_clock_swing_height_ceiling_m = 0.02: swing feet (desired 0) 50 mm above the dog's lose
    exp(-(0.03)^2 / 0.001) of their share where two-sided they lose exp(-(0.05)^2 / 0.001); feet below the
    dog's (on the floor too) and within 20 mm above it keep the whole share; stance feet earn nothing of
    the term either way. Refused without the term."""
    from robots.go2.model import soft_limits_rad

    s = _rest_state(1)
    ref = np.array([[0.03, 0.03, 0.03, 0.03]])
    height = np.array([[0.08, 0.022, 0.045, 0.08]])       # 50 mm over, on the floor, 15 mm over, stance
    desired = np.array([[0.0, 0.0, 0.0, 1.0]])
    cfg = lcfg.make_config("cpu", "sac").reward
    cfg.gait_clock_swing_height = 40
    kw = dict(soft_limits_rad=soft_limits_rad(), dt_s=DT, foot_contact_desired=desired, foot_height_m=height,
              foot_height_reference_m=ref)
    two = reward_terms(cfg, **s, **kw)["gait_clock_swing_height"]
    np.testing.assert_allclose(two, 40 * DT / 4 * (math.exp(-0.0025 / 0.001) + math.exp(-0.008 ** 2 / 0.001)
                                                   + math.exp(-0.015 ** 2 / 0.001)), rtol=1e-9)
    cfg.gait_clock_swing_height_ceiling_m = 0.02
    one = reward_terms(cfg, **s, **kw)["gait_clock_swing_height"]
    np.testing.assert_allclose(one, 40 * DT / 4 * (math.exp(-0.0009 / 0.001) + 1 + 1), rtol=1e-9)
    for bad, msg in ((["reward.gait_clock_swing_height_ceiling_m=0.02"], "that term is off"),
                     (["reward.gait_clock_swing_height=1", "reward.gait_clock_swing_height_ceiling_m=-0.01"],
                      r"must be in \[0, 0.2\]")):
        with pytest.raises(ValueError, match=msg):
            lcfg.validate(lcfg.apply_overrides(lcfg.make_config("cpu", "sac"), ["env.gait_clock=true", *bad]))


def test_tracking_relative_above_widens_the_kernel_with_the_command():
    """reward.tracking_relative_above_m_s: below that speed the legged_gym kernel as it was; above it the
    error as a share of the command (both directions), the same kernel value at the same relative error."""
    from robots.go2.model import soft_limits_rad

    s = _rest_state(5)
    s["command_vx_m_s"] = np.array([0.7, 1.79, 1.79, -1.68, 0.84])
    s["base_lin_vel_b"][:, 0] = [0.2, 0.64, 1.79, -0.84, 0.42]
    cfg = lcfg.make_config("cpu", "sac").reward
    plain = reward_terms(cfg, **s, soft_limits_rad=soft_limits_rad(), dt_s=DT)["tracking_lin_vel_x"]
    np.testing.assert_allclose(plain[1], 4.8 * math.exp(-1.15 ** 2 / 0.25), rtol=1e-12)
    assert plain[1] < 0.006 * 4.8                                  # the trot's command: next to nothing
    cfg.tracking_relative_above_m_s = 0.84
    rel = reward_terms(cfg, **s, soft_limits_rad=soft_limits_rad(), dt_s=DT)["tracking_lin_vel_x"]
    np.testing.assert_allclose(rel[0], plain[0], rtol=1e-12)       # 0.7 m/s: below 0.84, unchanged
    np.testing.assert_allclose(rel[4], plain[4], rtol=1e-12)
    np.testing.assert_allclose(rel[1], 4.8 * math.exp(-(1.15 * 0.84 / 1.79) ** 2 / 0.25), rtol=1e-12)
    np.testing.assert_allclose(rel[2], 4.8, rtol=1e-12)            # on target: whole
    # half the command short, at 1.68 m/s backwards and at 0.84 forwards: the relative error 0.5 each side,
    # both 0.42 m/s of error at 0.84
    np.testing.assert_allclose(rel[3], rel[4], rtol=1e-12)
    torch = pytest.importorskip("torch", reason="torch is an optional extra")
    rel_t = tracking_lin_vel_x(torch.tensor(s["command_vx_m_s"]), torch.tensor(s["base_lin_vel_b"]), 0.25, 0.84)
    np.testing.assert_allclose(rel_t.numpy() * 4.8, rel, rtol=1e-12)
    with pytest.raises(ValueError, match="tracking_relative_above_m_s"):
        lcfg.validate(lcfg.apply_overrides(lcfg.make_config("cpu", "sac"), ["reward.tracking_relative_above_m_s=-1"]))


def test_amp_reward_numpy_and_torch():
    d = [1.0, -1.0, 3.0, 0.0, 2.0, -5.0]
    want = [1.0, 0.0, 0.0, 0.75, 0.75, 0.0]
    np.testing.assert_allclose(amp_reward(np.array(d)), want, atol=1e-12)
    out = amp_reward(torch.tensor(d, dtype=torch.float64))
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), want, atol=1e-12)


# ------------------------------------------------------------------------------------- 7. RunningNorm

def test_running_norm_merges_uneven_batches_like_numpy():
    rng = np.random.default_rng(4)
    batches = [rng.normal([1.0, -3.0, 0.0], [0.5, 2.0, 1.0], size=(n, 3)) + shift
               for n, shift in ((1, 0.0), (7, 2.0), (100, -1.0), (3, 10.0), (250, 0.5))]
    norm = RunningNorm(3, min_std=0.01)
    for b in batches:
        norm.update(torch.tensor(b, dtype=torch.float32 if len(b) == 7 else torch.float64))
    allx = np.concatenate(batches)
    np.testing.assert_allclose(norm.mean.numpy(), allx.mean(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(norm.var.numpy(), allx.var(0), rtol=1e-6)
    assert float(norm.count) == len(allx)
    x = torch.tensor(allx[:5])
    np.testing.assert_allclose(norm.normalize(x).numpy(), (allx[:5] - allx.mean(0)) / allx.std(0), rtol=1e-5)
    # an empty batch changes nothing; a 3-D batch counts every row
    norm.update(torch.zeros(0, 3))
    assert float(norm.count) == len(allx)

    # state_dict round trip into a fresh normaliser
    other = RunningNorm(3, min_std=0.01)
    other.load_state_dict(norm.state_dict())
    for name in ("mean", "var", "count"):
        assert torch.equal(getattr(other, name), getattr(norm, name))
    assert torch.equal(other.normalize(x), norm.normalize(x))


def test_running_norm_min_std_floor_and_clip():
    norm = RunningNorm(2, min_std=0.01, clip=10.0)
    x = np.stack([np.full(40, 2.0), np.arange(40.0)], 1)
    norm.update(torch.tensor(x).reshape(4, 10, 2))   # leading dims are flattened
    assert float(norm.count) == 40
    assert float(norm.var[0]) == 0.0
    out = norm.normalize(torch.tensor([[2.005, 19.5], [2.5, 1e6]], dtype=torch.float64)).numpy()
    assert out[0, 0] == pytest.approx(0.5)                   # (2.005 - 2) / 0.01, not / 0
    assert out[0, 1] == pytest.approx(0.0)
    assert out[1, 0] == 10.0 and out[1, 1] == 10.0           # clipped


# ----------------------------------------------------------------------------------------- 8. config

def test_apply_overrides_parses_each_type():
    cfg = lcfg.make_config("cpu", "sac")
    lcfg.apply_overrides(cfg, ["sac.batch_size=4096", "sac.gamma=0.95", "sac.timeout_bootstrap=false",
                               "env.reference_state_init=0", "amp.hidden=128,64", "sac.hidden=(32, 16, 8)",
                               "env.command_vx_range_m_s=0.2,0.8", "seed=7", "env.backend=isaacgym",
                               "reward.dof_acc=-1e-6"])
    assert cfg.sac.batch_size == 4096 and type(cfg.sac.batch_size) is int
    assert cfg.sac.gamma == 0.95
    assert cfg.sac.timeout_bootstrap is False and cfg.env.reference_state_init is False
    assert cfg.amp.hidden == (128, 64) and cfg.sac.hidden == (32, 16, 8)
    assert cfg.env.command_vx_range_m_s == (0.2, 0.8)
    assert cfg.seed == 7 and cfg.env.backend == "isaacgym" and cfg.reward.dof_acc == -1e-6
    assert lcfg.apply_overrides(cfg, ["sac.timeout_bootstrap=TRUE"]).sac.timeout_bootstrap is True


@pytest.mark.parametrize("item, key", [
    ("nosection.gamma=1", "nosection.gamma"),
    ("sac.no_field=1", "sac.no_field"),
    ("no_field=1", "no_field"),
    ("sac.batch_size=abc", "sac.batch_size"),
    ("sac.batch_size=2.5", "sac.batch_size"),
    ("sac.gamma=fast", "sac.gamma"),
    ("sac.timeout_bootstrap=maybe", "sac.timeout_bootstrap"),
    ("env.command_vx_range_m_s=1,2,3", "env.command_vx_range_m_s"),
    ("amp.hidden=256,x", "amp.hidden"),
    ("env=3", "env"),
    ("seed.x=1", "seed.x"),
    ("sac.gamma.x=1", "sac.gamma.x"),
    ("sac.batch_size", "sac.batch_size"),
])
def test_apply_overrides_rejects_bad_keys_and_values(item, key):
    cfg = lcfg.make_config("cpu", "sac")
    before = lcfg.to_dict(cfg)
    with pytest.raises(ValueError, match=f"^--set {key}[=:]"):
        lcfg.apply_overrides(cfg, [item])
    assert lcfg.to_dict(cfg) == before


def test_config_dict_and_json_round_trip():
    for preset in lcfg.PRESETS:
        for algo in lcfg.ALGOS:
            if (preset, algo) == ("cpu-dog", "ppo"):     # refused: test_the_cpu_dog_preset_is_cpu_plus_...
                continue
            cfg = lcfg.make_config(preset, algo)
            lcfg.apply_overrides(cfg, ["amp.hidden=64,32", "env.command_vx_range_m_s=0.1,0.9"])
            assert lcfg.from_dict(lcfg.to_dict(cfg)) == cfg
            back = lcfg.from_dict(json.loads(lcfg.to_json(cfg)))     # JSON turns tuples into lists
            assert back == cfg and back.amp.hidden == (64, 32) and isinstance(back.env.command_vx_range_m_s, tuple)
    d = lcfg.to_dict(lcfg.make_config())
    d["sac"]["bogus"] = 1
    with pytest.raises(ValueError, match="bogus"):
        lcfg.from_dict(d)


def test_presets_differ_as_documented():
    paper, cpu = lcfg.make_config("paper", "sac"), lcfg.make_config("cpu", "sac")
    # Tables I-II of the AMP+SAC paper
    assert paper.env.num_envs == 4096 and paper.sac.batch_size == 16384
    assert paper.sac.hidden == (1024, 512) and paper.amp.hidden == (1024, 512)
    assert paper.sac.gamma == 0.99 and paper.sac.tau == 0.05 and paper.sac.n_step == 3
    # cpu: smaller sizes, same method, task and rewards
    assert cpu.env.num_envs < paper.env.num_envs and cpu.sac.batch_size < paper.sac.batch_size
    assert cpu.amp.batch_size < paper.amp.batch_size and cpu.sac.replay_size < paper.sac.replay_size
    for section in ("reward", "randomization"):
        assert getattr(cpu, section) == getattr(paper, section)
    for name in ("gamma", "tau", "n_step", "init_alpha", "timeout_bootstrap", "nstep_stop_at_termination",
                 "action_bounds_from_limits", "actor_lr"):
        assert getattr(cpu.sac, name) == getattr(paper.sac, name), name
    assert (cpu.env.sim_dt_s, cpu.env.decimation, cpu.env.kp_nm_rad) == (0.005, 4, 20.0)
    # PPO: AMP_for_hardware's discriminator loss weights
    ppo = lcfg.make_config("paper", "ppo")
    assert (ppo.amp.loss_coef, ppo.amp.grad_pen_coef) == (1.0, 10.0)
    assert (paper.amp.loss_coef, paper.amp.grad_pen_coef) == (0.1, 0.01)
    with pytest.raises(ValueError, match="preset"):
        lcfg.make_config("gpu", "sac")
    with pytest.raises(ValueError, match="algo"):
        lcfg.make_config("cpu", "td3")


def test_the_cpu_dog_preset_is_cpu_plus_the_switches_the_readme_gives():
    """--preset cpu-dog is the README's "nearest the dog" command on the cpu preset, field for field."""
    dog = lcfg.make_config("cpu-dog", "sac")
    by_hand = lcfg.apply_overrides(lcfg.make_config("cpu", "sac"), [
        "amp.window_frames=5", "amp.frame_stride=3", "env.gait_clock=true", "env.command_source=banks",
        "reward.gait_clock_swing_free=120", "reward.gait_clock_stance_still=120",
        "env.reference_feedforward=true", "env.residual_limit_rad=0.3",
        "reward.tracking_relative_above_m_s=0.84", "env.stance_torque_feedforward=true",
        "amp.gait_condition=true", "env.kp_run_nm_rad=40"])
    d, h = lcfg.to_dict(dog), lcfg.to_dict(by_hand)
    assert d.pop("preset") == "cpu-dog" and h.pop("preset") == "cpu"
    assert d == h
    lcfg.validate(dog)
    with pytest.raises(ValueError, match="cpu-dog is AMP\\+SAC's"):
        lcfg.make_config("cpu-dog", "ppo")


# ------------------------------------------------------------------------------- 9. projected gravity

def test_projected_gravity_against_scipy():
    pytest.importorskip("mujoco", reason="learner.task imports the MuJoCo backend")
    from scipy.spatial.transform import Rotation

    from learner.task import projected_gravity

    rng = np.random.default_rng(5)
    q = rng.normal(size=(200, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    expected = np.einsum("nji,j->ni", Rotation.from_quat(q).as_matrix(), [0.0, 0.0, -1.0])  # R^T g
    np.testing.assert_allclose(projected_gravity(q), expected, atol=1e-12)
    # by hand: upright -> (0, 0, -1); rolled +90 deg about x (left side up) -> gravity along -y of the base
    np.testing.assert_allclose(projected_gravity(np.array([0.0, 0.0, 0.0, 1.0])), [0, 0, -1], atol=1e-15)
    s = math.sqrt(0.5)
    np.testing.assert_allclose(projected_gravity(np.array([[s, 0.0, 0.0, s]])), [[0, -1, 0]], atol=1e-12)
    # pitched +90 deg about y (nose down): gravity along +x of the base
    np.testing.assert_allclose(projected_gravity(np.array([[0.0, s, 0.0, s]])), [[1, 0, 0]], atol=1e-12)


# ------------------------------------------------------------------ PPO: GAE and the KL-adaptive learning rate

class _StubExpert:
    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)

    def sample_windows(self, n):
        return self.rng.normal(size=(n, 86))


def _ppo(steps=5, envs=2, lr=1e-3, epochs=5, minibatches=4):
    from learner.ppo import AmpPpo

    cfg = lcfg.make_config("cpu", "ppo")
    cfg.env.num_envs, cfg.ppo.steps_per_env, cfg.ppo.hidden, cfg.amp.hidden = envs, steps, (8,), (8,)
    cfg.ppo.epochs, cfg.ppo.minibatches = epochs, minibatches
    cfg.ppo.lr, cfg.amp.replay_size, cfg.amp.history_size = lr, 1000, 0
    torch.manual_seed(0)
    return AmpPpo(cfg, 3, 2, -np.ones(2), np.ones(2), _StubExpert(), "cpu"), cfg


def test_gae_against_the_written_out_sum():
    """A_t = sum_l (gamma lam)^l delta_{t+l}, the sum cut after a done (its delta has no next value)."""
    agent, cfg = _ppo(steps=5, envs=2)
    p = cfg.ppo
    rewards = np.array([[1.0, 0.5], [0.0, -1.0], [2.0, 0.3], [0.5, 0.0], [-1.0, 1.5]])
    values = np.array([[0.2, 0.1], [0.4, -0.3], [1.0, 0.6], [-0.5, 0.2], [0.3, 0.9]])
    dones = np.array([[0, 0], [0, 1], [0, 0], [1, 0], [0, 0]], dtype=float)
    last_value = np.array([0.7, -0.2])
    agent.rewards, agent.values = torch.tensor(rewards, dtype=torch.float32), torch.tensor(values, dtype=torch.float32)
    agent.dones, agent.t = torch.tensor(dones, dtype=torch.float32), 5
    agent._last_obs = np.zeros((2, 3))
    agent.ac.value = lambda obs: torch.tensor(last_value, dtype=torch.float32)
    adv, returns = agent._advantages()
    for env in range(2):
        for t in range(5):
            want, decay = 0.0, 1.0
            for k in range(t, 5):
                next_v = 0.0 if dones[k, env] else (last_value[env] if k == 4 else values[k + 1, env])
                want += decay * (rewards[k, env] + p.gamma * next_v - values[k, env])
                if dones[k, env]:
                    break
                decay *= p.gamma * p.lam
            assert adv[t, env].item() == pytest.approx(want, rel=1e-5, abs=1e-6), (t, env)
    np.testing.assert_allclose(returns.numpy(), adv.numpy() + values, rtol=1e-6)


def _fill_rollout(agent, mu_offset: float, sigma_factor: float):
    """A rollout whose stored behaviour policy is the current one moved by mu_offset (in current stds) and
    with its std scaled by sigma_factor: KL(old || new) known in closed form."""
    n, steps = agent.obs.shape[1], agent.obs.shape[0]
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for i in range(steps):
            obs = torch.tensor(rng.normal(size=(n, 3)), dtype=torch.float32)
            d = agent.ac.dist(obs)
            agent.obs[i], agent.act_buf[i] = obs, d.mean
            agent.mu[i], agent.sigma[i] = d.mean + mu_offset * d.stddev, d.stddev * sigma_factor
            agent.logp[i] = d.log_prob(d.mean).sum(-1)
            agent.values[i] = agent.ac.value(obs)
            agent.rewards[i] = torch.tensor(rng.normal(size=n), dtype=torch.float32)
            agent.amp_replay.add(torch.randn(n, 86))
    agent.dones.zero_()
    agent._last_obs = rng.normal(size=(n, 3))
    agent.t = steps


def test_kl_adaptive_learning_rate_falls_and_rises_by_1_5():
    p = lcfg.make_config("cpu", "ppo").ppo
    rounds = p.epochs * p.minibatches
    # old std 10x the new: KL ~ 50 per dimension, far above 2 x desired_kl at every minibatch
    agent, _ = _ppo(steps=8, envs=4, lr=1e-3, epochs=1, minibatches=3)
    _fill_rollout(agent, 0.0, 10.0)
    out = agent.update()
    assert out["lr"] == pytest.approx(1e-3 / 1.5 ** 3)
    assert {g["lr"] for g in agent.opt.param_groups} == {out["lr"]}
    agent, _ = _ppo(steps=8, envs=4, lr=1e-3)          # and never below 1e-5
    _fill_rollout(agent, 0.0, 10.0)
    assert agent.update()["lr"] == pytest.approx(1e-5)
    # a tiny mean shift (0.01 std): KL = 0.5 * 0.01^2 * 2 dims = 1e-4 < desired_kl / 2; with a tiny lr the policy
    # barely moves, so the rate grows by 1.5 at every minibatch
    agent, _ = _ppo(steps=8, envs=4, lr=1e-7)
    _fill_rollout(agent, 0.01, 1.0)
    out = agent.update()
    assert out["lr"] == pytest.approx(1e-7 * 1.5 ** rounds, rel=1e-6)
    assert 0 < out["kl"] < p.desired_kl / 2


def test_instance_noise_keeps_the_discriminator_off_its_targets_as_lsgan_theory_says():
    """Expert at x = 0, policy at x = 2 (normalised units, one feature). Without noise D separates them
    (D -> +1 / -1); with N(0, 1) instance noise the least-squares optimum at the policy's point is
    D* = (p_e - p_pi) / (p_e + p_pi) with p = N(0, 1), N(2, 1) densities there: (phi(2) - phi(0)) / (phi(2) + phi(0))."""
    phi = lambda x: math.exp(-x * x / 2)
    assert _two_point_d(2.0, 300)[1] == pytest.approx(-1.0, abs=0.03)
    assert _two_point_d(2.0, 300, input_noise_std=1.0)[1] == pytest.approx((phi(2) - phi(0)) / (phi(2) + phi(0)),
                                                                          abs=0.08)


def _two_point_d(policy_x: float, steps: int, spectral_norm: bool = False, **loss_options) -> tuple[float, float]:
    """(D(0), D(policy_x)) of a one-feature discriminator trained `steps` Adam steps on expert windows at
    x = 0 against policy windows at x = policy_x."""
    from learner.amp import discriminator_loss

    torch.manual_seed(0)
    disc = Discriminator(1, (32, 32), window_frames=1, spectral_norm=spectral_norm)
    opt = torch.optim.Adam(disc.parameters(), lr=3e-3)
    expert, policy = torch.zeros(256, 1), torch.full((256, 1), policy_x)
    for _ in range(steps):
        l_amp, _, _ = discriminator_loss(disc, expert, policy, grad_pen_coef=0.0, **loss_options)
        opt.zero_grad()
        l_amp.backward()
        opt.step()
    with torch.no_grad():
        return disc.score(torch.tensor([[0.0]])).item(), disc.score(torch.tensor([[policy_x]])).item()


def test_adamw_fused_matches_the_loop_and_polyak_matches_lerp():
    """learner.networks.adamw (fused where torch has the kernel) makes the same updates as torch's for-loop
    AdamW, and polyak_ averages as tensor.lerp_ does, tensor by tensor."""
    from learner.networks import adamw, mlp, polyak_

    torch.manual_seed(3)
    net_a = mlp(7, (16, 16), 2)
    net_b = mlp(7, (16, 16), 2)
    net_b.load_state_dict(net_a.state_dict())
    start = [p.detach().clone() for p in net_a.parameters()]
    opt_a = adamw(net_a.parameters(), "cpu", lr=1e-2, weight_decay=0.1)
    opt_b = torch.optim.AdamW(net_b.parameters(), lr=1e-2, weight_decay=0.1, foreach=False, fused=False)
    for _ in range(20):
        x = torch.randn(32, 7)
        for net, opt in ((net_a, opt_a), (net_b, opt_b)):
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()
    for pa, pb in zip(net_a.parameters(), net_b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)
    assert all((pa - p0).abs().max() > 1e-3 for pa, p0 in zip(net_a.parameters(), start))   # it did move

    targets = [torch.randn(3, 4), torch.randn(5)]
    sources = [torch.randn(3, 4), torch.randn(5)]
    expected = [t + 0.05 * (s - t) for t, s in zip(targets, sources)]
    polyak_(targets, sources, 0.05)
    for t, e in zip(targets, expected):
        torch.testing.assert_close(t, e)


def test_a_spectrally_normalised_discriminator_is_1_lipschitz_where_a_plain_one_separates():
    """Expert at x = 0, policy at x = 0.5 (normalised units, one feature). A plain D learns +1 and -1 there
    (a difference of 2 across 0.5); with every layer spectrally normalised |D(0) - D(0.5)| <= 0.5, and it
    still orders them (expert above policy)."""
    d_expert, d_policy = _two_point_d(0.5, 400)
    assert d_expert == pytest.approx(1.0, abs=0.05) and d_policy == pytest.approx(-1.0, abs=0.05)
    d_expert, d_policy = _two_point_d(0.5, 400, spectral_norm=True)
    assert 0.0 < d_expert - d_policy <= 0.5 * 1.02
