from __future__ import annotations

import numpy as np
import pytest
import torch

import stochflow.jump as sfj
from stochflow.core.errors import InputError, InputTypeError


@pytest.fixture(scope="module")
def paths(dfr):
    return sfj.simulate(dfr, n_paths=2000, t_max=2.5, seed=1)


def test_regular_grid_is_shared_and_exact(paths):
    obs = paths.observe(50, grid="regular", seed=0)
    assert obs.times.shape == (2000, 50) and obs.n_states == 6 and obs.t_max == 2.5
    assert torch.equal(obs.times[0], torch.linspace(0, 2.5, 50, dtype=torch.float64))
    assert bool((obs.times == obs.times[:1]).all())
    assert torch.equal(obs.states, paths.state_at(obs.times))


def test_irregular_grid_is_sorted_per_path_in_the_horizon(paths):
    obs = paths.observe(20, grid="irregular", seed=0)
    t = obs.times
    assert bool((t[:, 1:] >= t[:, :-1]).all()) and bool((t >= 0).all()) and bool((t <= 2.5).all())
    assert not bool((t == t[:1]).all())
    # uniform times: the mean is t_max / 2, SE from the uniform law
    assert abs(float(t.mean()) - 1.25) < 4.5 * 2.5 / np.sqrt(12 * t.numel())


def test_irregular_counts_in_a_range_are_masked(paths):
    obs = paths.observe((8, 72), grid="irregular", seed=0)
    counts = obs.mask.sum(-1)
    assert int(counts.min()) >= 8 and int(counts.max()) <= 72 and obs.times.shape[-1] == 72
    assert abs(float(counts.double().mean()) - 40.0) < 4.5 * np.sqrt((65**2 - 1) / 12 / 2000)
    # masked entries come last in each path
    m = obs.mask.int()
    assert bool((m[:, 1:] <= m[:, :-1]).all())


def test_flips_change_the_label_at_the_stated_rate(paths):
    clean = paths.observe(40, grid="irregular", seed=5)
    noisy = paths.observe(40, grid="irregular", flip_prob=0.1, seed=5)
    assert torch.equal(clean.times, noisy.times)
    wrong = (clean.states != noisy.states).double()
    n = wrong.numel()
    assert abs(float(wrong.mean()) - 0.1) < 4.5 * np.sqrt(0.1 * 0.9 / n)
    # the wrong label is uniform over the other five states
    shift = ((noisy.states - clean.states) % 6)[clean.states != noisy.states]
    freq = torch.bincount(shift, minlength=6)[1:].double() / shift.numel()
    assert bool(((freq - 0.2).abs() < 4.5 * np.sqrt(0.2 * 0.8 / shift.numel())).all())


def test_observe_reproduces_with_a_seed(paths):
    a = paths.observe(10, grid="irregular", flip_prob=0.1, seed=3)
    b = paths.observe(10, grid="irregular", flip_prob=0.1, seed=3)
    assert torch.equal(a.times, b.times) and torch.equal(a.states, b.states)


def test_records_round_trip():
    times = np.array([[0.0, 0.5, 1.0], [0.1, 0.7, 0.0]])
    states = np.array([[0, 1, 2], [2, 2, 0]])
    mask = np.array([[True, True, True], [True, True, False]])
    obs = sfj.Observations(times, states, mask, n_states=3)
    pid, t, s = obs.to_records()
    back = sfj.Observations.from_records(pid, t, s, n_states=3)
    np.testing.assert_array_equal(back.mask, mask)
    np.testing.assert_array_equal(back.times[mask], times[mask])
    np.testing.assert_array_equal(back.states[mask], states[mask])
    # string ids and interleaved rows are grouped by path
    back2 = sfj.Observations.from_records(["b", "a", "b", "a"], [0.0, 0.1, 1.0, 0.2], [1, 0, 0, 1])
    assert back2.times.shape == (2, 2) and back2.states.tolist() == [[0, 1], [1, 0]]


@pytest.mark.parametrize("times, states, mask, match", [
    ([[0.0, 0.5, 0.2]], [[0, 1, 0]], None, "sorted"),
    ([[0.0, 0.5]], [[0, 3]], None, "outside"),
    ([[0.0, 0.5]], [[0, -1]], None, "outside"),
    ([[0.0, 0.5]], [[0, 1]], [[False, False]], "empty path"),
    ([[-1.0, 0.5]], [[0, 1]], None, ">= 0"),
    ([[0.0, np.nan]], [[0, 1]], None, "NaN"),
    ([[0.0, 0.5]], [[0, 1, 1]], None, "same shape"),
    ([0.0, 0.5], [0, 1], None, "n_paths"),
    ([[0.0, 0.5]], [[0, 1.5]], None, "whole numbers"),
])
def test_bad_observations(times, states, mask, match):
    m = None if mask is None else np.array(mask)
    with pytest.raises(InputError, match=match):
        sfj.Observations(np.array(times, dtype=float), np.array(states), m, n_states=2 if match != "outside" else 3)


def test_bad_observe_arguments(paths):
    with pytest.raises(InputError, match="did you mean"):
        paths.observe(10, grid="irregullar")
    with pytest.raises(InputError, match="probability"):
        paths.observe(10, flip_prob=1.5)
    with pytest.raises(InputError, match="irregular"):
        paths.observe((5, 10), grid="regular")
    with pytest.raises(InputTypeError):
        sfj.observe("paths", 10)
    with pytest.raises(InputError, match="sort"):
        sfj.Observations.from_records([0, 0], [1.0, 0.5], [0, 1])
