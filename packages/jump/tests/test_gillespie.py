from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import torch

import stochflow.jump as sfj
from stochflow.core.errors import InputError, InputTypeError


@pytest.fixture(scope="module")
def dfr_paths(dfr):
    return sfj.simulate(dfr, n_paths=4000, t_max=3.0, seed=11)


def test_holding_times_are_exponential_with_the_exit_rate(dfr, dfr_paths):
    # a sojourn entered at e <= t_max - c is seen to end before c whenever it does (strong Markov
    # property: the entry time is independent of the duration), so d | d < c is a truncated exponential
    c = 0.5
    exit_rates = -torch.diagonal(dfr)
    t, s = dfr_paths.times, dfr_paths.states
    entry, d, state = t[:, :-1], t[:, 1:] - t[:, :-1], s[:, :-1]
    ok = (entry <= 3.0 - c) & (d < c)
    for k in range(6):
        sample = d[ok & (state == k)].numpy()
        assert len(sample) > 1000
        lam = float(exit_rates[k])
        cdf = lambda x, lam=lam: (1 - np.exp(-lam * x)) / (1 - np.exp(-lam * c))
        assert scipy.stats.kstest(sample, cdf).pvalue > 1e-3


def test_holding_times_of_an_uncensored_run_match_the_exponential_law():
    # long horizon, few jumps per unit time: censoring touches only the last sojourn of each path
    Q = torch.tensor([[-2.0, 2.0], [0.5, -0.5]], dtype=torch.float64)
    paths = sfj.simulate(Q, n_paths=500, t_max=200.0, seed=2)
    for s, lam in ((0, 2.0), (1, 0.5)):
        d = paths.holding_times(s).numpy()
        assert scipy.stats.kstest(d, "expon", args=(0, 1 / lam)).pvalue > 1e-3


def test_empirical_transition_probabilities_match_expm(dfr, dfr_paths):
    t = 0.6
    x0 = dfr_paths.states[:, 0].numpy()
    xt = dfr_paths.state_at(torch.tensor([t], dtype=torch.float64))[:, 0].numpy()
    P = scipy.linalg.expm(dfr.numpy() * t)
    for i in range(6):
        n_i = int((x0 == i).sum())
        freq = np.bincount(xt[x0 == i], minlength=6) / n_i
        se = np.sqrt(P[i] * (1 - P[i]) / n_i) + 1e-12
        assert np.all(np.abs(freq - P[i]) < 4.5 * se + 1e-9), (i, freq, P[i])


def test_next_state_frequencies_match_the_jump_chain(dfr, dfr_paths):
    counts, _, _ = dfr_paths.statistics()
    counts = counts.numpy()
    jump = dfr.numpy().copy()
    np.fill_diagonal(jump, 0.0)
    jump /= jump.sum(1, keepdims=True)
    for i in range(6):
        n = counts[i].sum()
        chi2 = scipy.stats.chisquare(counts[i][jump[i] > 0], n * jump[i][jump[i] > 0])
        assert chi2.pvalue > 1e-3
        assert counts[i][jump[i] == 0].sum() == 0


def test_occupation_of_stationary_runs_is_the_stationary_law(dfr):
    pi = sfj.stationary_distribution(dfr)
    paths = sfj.simulate(dfr, pi, n_paths=400, t_max=20.0, seed=4)
    _, holding, _ = paths.statistics()
    # per-path occupation fractions: their mean is pi exactly (stationary start); SE from the paths
    per_path = sfj.JumpPaths(paths.times[:, None], paths.states[:, None], paths.n_jumps[:, None], 20.0, 6)
    frac = per_path.statistics()[1].numpy() / 20.0
    se = frac.std(0, ddof=1) / np.sqrt(400)
    assert np.all(np.abs(frac.mean(0) - pi.numpy()) < 4.5 * se)
    np.testing.assert_allclose(holding.sum().item(), 400 * 20.0, rtol=1e-12)


def test_seed_reproduces_and_batches_simulate_each_process():
    Q = torch.stack([sfj.dfr_generator(0.0, 1.0, 1.0), 10 * sfj.dfr_generator(0.0, 1.0, 1.0)])
    a = sfj.simulate(Q, n_paths=50, t_max=1.0, seed=7)
    b = sfj.simulate(Q, n_paths=50, t_max=1.0, seed=7)
    c = sfj.simulate(Q, n_paths=50, t_max=1.0, seed=8)
    assert torch.equal(a.times, b.times) and torch.equal(a.states, b.states)
    assert not torch.equal(a.times, c.times)
    assert a.times.shape[:2] == (2, 50)
    # the second process is 10x faster: its mean number of jumps is 10x (exit rate 3 for every state)
    mean_jumps = a.n_jumps.double().mean(-1)
    assert abs(float(mean_jumps[0]) - 3.0) < 4.5 * np.sqrt(3.0 / 50)
    assert abs(float(mean_jumps[1]) - 30.0) < 4.5 * np.sqrt(30.0 / 50)


def test_paths_are_consistent(dfr_paths):
    t = dfr_paths.times
    finite = torch.isfinite(t)
    assert bool((t[:, 0] == 0).all())
    assert bool((t[finite] < 3.0).all())
    assert torch.equal(finite.sum(-1) - 1, dfr_paths.n_jumps)
    diffs = t[:, 1:] - t[:, :-1]
    assert bool((diffs[finite[:, 1:]] > 0).all())
    # consecutive recorded states differ at every jump
    s = dfr_paths.states
    jumped = finite[:, 1:]
    assert bool((s[:, 1:][jumped] != s[:, :-1][jumped]).all())


def test_numpy_in_numpy_out():
    Q = np.array([[-1.0, 1.0], [2.0, -2.0]])
    paths = sfj.simulate(Q, n_paths=5, t_max=1.0, seed=0)
    assert isinstance(paths.times, np.ndarray) and isinstance(paths.states, np.ndarray)
    obs = paths.observe(4, seed=1)
    assert isinstance(obs.times, np.ndarray)


def test_absorbing_states_stop_the_path():
    Q = np.array([[-1.0, 1.0], [0.0, 0.0]])
    paths = sfj.simulate(Q, [1.0, 0.0], n_paths=200, t_max=50.0, seed=0)
    assert int(paths.n_jumps.max()) == 1
    assert np.all(paths.state_at([49.0]) == 1)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(p0=[0.6, 0.6]), InputError, "sum to 1"),
    (dict(p0=[1.5, -0.5]), InputError, "negative"),
    (dict(p0=[0.2, 0.3, 0.5]), InputError, "distribution over the 2 states"),
    (dict(n_paths=0), InputError, "at least 1"),
    (dict(n_paths=2.5), InputTypeError, "int"),
    (dict(t_max=0.0), InputError, "positive"),
    (dict(seed="x"), InputTypeError, "seed"),
])
def test_bad_simulation_inputs(kwargs, error, match):
    args = dict(p0=None, n_paths=3, t_max=1.0, seed=0) | kwargs
    Q = np.array([[-1.0, 1.0], [2.0, -2.0]])
    with pytest.raises(error, match=match):
        sfj.simulate(Q, args.pop("p0"), **args)


def test_too_many_jumps_is_refused_before_simulating():
    with pytest.raises(InputError, match="too many"):
        sfj.simulate(np.array([[-1e7, 1e7], [1.0, -1.0]]), n_paths=1, t_max=1.0, seed=0)


@pytest.mark.parametrize("every", [3, 8])
def test_looking_for_live_paths_every_few_steps_gives_the_same_paths(monkeypatch, every):
    """Off the CPU the loop checks for live paths every 8 steps (one sync each); forced here on the CPU,
    batches, absorbing states and a horizon shorter than the first jump give the same paths."""
    import stochflow.jump.gillespie as gillespie

    cases = [(torch.stack([sfj.dfr_generator(0.0, 1.0, 1.0), 10 * sfj.dfr_generator(0.0, 1.0, 1.0)]), None, 1.0),
             (torch.tensor([[-1.0, 1.0], [0.0, 0.0]], dtype=torch.float64), [1.0, 0.0], 50.0),
             (torch.tensor([[-1.0, 1.0], [2.0, -2.0]], dtype=torch.float64), None, 1e-6)]
    plain = [sfj.simulate(Q, p0, n_paths=40, t_max=T, seed=5) for Q, p0, T in cases]
    monkeypatch.setattr(gillespie, "check_every", lambda device: every)
    for (Q, p0, T), a in zip(cases, plain):
        b = sfj.simulate(Q, p0, n_paths=40, t_max=T, seed=5)
        assert torch.equal(a.times, b.times) and torch.equal(a.states, b.states) and torch.equal(a.n_jumps, b.n_jumps)
