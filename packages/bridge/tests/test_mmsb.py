"""Schrödinger bridges: closed-form Gaussian bridge, reference refinement recovers a known drift and
predicts held-out times better than a Brownian reference, AnnData in/out, save/load, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.stats import norm

from stochflow.bridge import LinearReference, MultiMarginalSB, linear_sde_snapshots
from stochflow.bridge.snapshots import read_snapshots
from stochflow.core.errors import InputError, InputTypeError, NotFittedError


def _w2(p: np.ndarray, q: np.ndarray) -> float:
    C = ((p[:, None] - q[None]) ** 2).sum(-1)
    r, c = linear_sum_assignment(C)
    return float(np.sqrt(C[r, c].mean()))


def test_linear_reference_transition_matches_ornstein_uhlenbeck_closed_form():
    """1-D OU dX = -theta X dt + sigma dW: Phi = e^{-theta h}, Sigma = sigma^2 (1 - e^{-2 theta h}) / (2 theta)."""
    theta, sigma, h = 0.7, 0.4, 1.3
    ref = LinearReference(1, sigma=sigma, B=[[-theta]], c=[theta * 2.0])   # mean reversion to 2
    Phi, s, Sigma = (v.detach() for v in ref.transition(h))
    assert float(Phi) == pytest.approx(math.exp(-theta * h), rel=1e-12)
    assert float(s) == pytest.approx(2.0 * (1 - math.exp(-theta * h)), rel=1e-12)
    assert float(Sigma) == pytest.approx(sigma**2 * (1 - math.exp(-2 * theta * h)) / (2 * theta), rel=1e-12)


def test_bridge_sample_moments_match_brownian_bridge():
    ref = LinearReference(2, sigma=0.5, kind="brownian")
    n = 20000
    x, y = torch.zeros(n, 2, dtype=torch.float64), torch.ones(n, 2, dtype=torch.float64)
    z = ref.bridge_sample(x, y, 0.3, 1.0, generator=torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_allclose(z.mean(0), 0.3, atol=4 * math.sqrt(0.25 * 0.21 / n))
    np.testing.assert_allclose(z.var(0), 0.25 * 0.3 * 0.7, rtol=0.05)


def test_gaussian_bridge_marginal_matches_closed_form():
    """Brownian reference (sigma, T = 1) between N(0, 1) and N(2, 1.5^2): the static bridge is entropic OT with
    cost |x - y|^2 and reg 2 sigma^2 T, cross-covariance c = (sqrt(reg^2 + 16 A B) - reg) / 4; at time u
    the bridge marginal is Gaussian with mean 2u and variance (1-u)^2 A + u^2 B + 2u(1-u) c + sigma^2 u(1-u)."""
    n, sigma = 300, 0.8
    q = norm.ppf((np.arange(n) + 0.5) / n)
    x0, x1 = q[:, None], 2.0 + 1.5 * q[:, None]
    A, B = x0.var(), x1.var()
    sb = MultiMarginalSB(reference="brownian", sigma=sigma, seed=0).fit([x0, x1], times=[0.0, 1.0])
    assert len(sb.history_) == 1 and sb.reference_params["sigma"] == pytest.approx(sigma)
    eps = 2 * sigma**2
    c = (math.sqrt(eps**2 + 16 * A * B) - eps) / 4
    P = sb.couplings_[0]
    assert float((P * np.outer(x0[:, 0], x1[:, 0] - 2.0)).sum()) == pytest.approx(c, rel=2e-3)
    for u in (0.3, 0.5):
        z = sb.interpolate(u, n=40_000, seed=1)[:, 0]
        var = (1 - u) ** 2 * A + u**2 * B + 2 * u * (1 - u) * c + sigma**2 * u * (1 - u)
        assert z.mean() == pytest.approx(2 * u, abs=4 * math.sqrt(var / 40_000))
        assert z.var() == pytest.approx(var, rel=0.03)


@pytest.fixture(scope="module")
def spiral():
    """A damped spiral dX = B X dt + 0.3 dW observed at t = 0, 0.5, ..., 6 (fresh cells each time)."""
    ad = linear_sde_snapshots(n_cells=100, seed=0, dt=0.02)
    t, snaps, _ = read_snapshots(ad, time_key="day")
    train, test = list(range(0, len(t), 2)), list(range(1, len(t), 2))
    fits = {ref: MultiMarginalSB(reference=ref, sigma=0.3, n_refine=15, seed=0).fit(
        [snaps[k] for k in train], times=t[train]) for ref in ("brownian", "linear")}
    return ad, t, snaps, train, test, fits


def test_refinement_recovers_the_drift_matrix(spiral):
    ad, *_, fits = spiral
    sb = fits["linear"]
    B_true = ad.uns["truth"]["B"]
    p = sb.reference_params
    assert np.abs(p["B"] - B_true).max() < 0.1, p["B"]
    assert np.abs(p["c"]).max() < 0.1
    # the alternating objective decreases monotonically and the refinement stopped by tolerance
    obj = [h["objective"] for h in sb.history_]
    assert all(b <= a + 1e-8 for a, b in zip(obj, obj[1:])) and obj[-1] < obj[0]
    assert len(sb.history_) < 16


def test_refinement_predicts_held_out_times_better_than_brownian(spiral):
    _, t, snaps, _, test, fits = spiral
    w = {ref: np.mean([_w2(sb.interpolate(t[k], n=len(snaps[k]), seed=3), snaps[k]) for k in test])
         for ref, sb in fits.items()}
    assert w["linear"] < 0.9 * w["brownian"], w


def test_sample_trajectories_hit_snapshots_and_extrapolate(spiral):
    _, t, snaps, train, _, fits = spiral
    sb = fits["linear"]
    ts, paths = sb.sample_trajectories(30, ts=[0.0, 0.25, 1.0, 6.0, 7.0], seed=0)
    assert paths.shape == (5, 30, 2) and np.all(np.isfinite(paths))
    # at a snapshot time every trajectory sits on a data point of that snapshot
    for j, k in ((0, 0), (2, 1), (3, len(train) - 1)):
        d = np.abs(paths[j][:, None] - sb.snapshots_[k][None]).sum(-1).min(1)
        assert d.max() == 0
    # same seed, same paths; trajectories are continuous (short steps are small)
    np.testing.assert_array_equal(sb.sample_trajectories(30, ts=ts, seed=0)[1], paths)
    with pytest.raises(InputError, match="before the first snapshot"):
        sb.sample_trajectories(5, ts=[-1.0])


def test_anndata_round_trip_and_save_load(spiral, tmp_path):
    import anndata

    ad, t, *_ = spiral
    small = ad[ad.obs["day"].isin([0.0, 1.0, 2.0])].copy()
    small.obsm["X_pca"] = small.X[:, ::-1].copy()
    sb = MultiMarginalSB(reference="ou", sigma=0.3, n_refine=3).fit(small, time_key="day", rep="X_pca")
    sb.write(small, time_key="day", rep="X_pca")
    path = tmp_path / "d.h5ad"
    small.write_h5ad(path)
    back = anndata.read_h5ad(path)
    assert back.obsm["bridge_next"].shape == (small.n_obs, 2)
    last = back.obs["day"].to_numpy() == 2.0
    assert np.isnan(back.obsm["bridge_next"][last]).all() and np.isfinite(back.obsm["bridge_next"][~last]).all()
    np.testing.assert_allclose(back.uns["stochflow_bridge"]["B"], sb.reference_params["B"])
    assert back.uns["stochflow_bridge"]["rep"] == "X_pca"
    sb.save(tmp_path / "m.pt")
    loaded = MultiMarginalSB.load(tmp_path / "m.pt")
    np.testing.assert_allclose(loaded.reference_params["B"], sb.reference_params["B"])
    np.testing.assert_array_equal(loaded.interpolate(1.5, n=10, seed=4), sb.interpolate(1.5, n=10, seed=4))


def _zero_linear_drift() -> torch.nn.Module:
    drift = torch.nn.Linear(2, 2, dtype=torch.float64)
    torch.nn.init.zeros_(drift.weight)
    torch.nn.init.zeros_(drift.bias)
    return drift


def test_checkpoint_resumes_where_a_straight_fit_ends(tmp_path):
    """A neural drift refit stopped after one refinement iteration and resumed from its checkpoint
    ends bit for bit where the uninterrupted fit ends; a finished checkpoint is returned as it is."""
    rng = np.random.default_rng(1)
    snaps = [rng.normal(size=(20, 2)) * 0.4 + [k, -0.5 * k] for k in range(3)]

    def fit(n_refine, checkpoint=None, data=snaps):
        return MultiMarginalSB(reference=_zero_linear_drift(), sigma=0.3, n_refine=n_refine, tol=0.0,
                               checkpoint=checkpoint).fit(data, times=[0, 1, 2])

    def params(sb):
        return torch.cat([p.detach().reshape(-1) for p in sb.reference_.parameters()]).numpy()

    straight = fit(2)
    ck = tmp_path / "refit.ckpt"
    first = fit(1, ck)
    assert len(first.history_) == 2 and torch.load(ck, weights_only=False)["iteration"] == 1
    for again in (fit(2, ck), fit(2, ck)):   # resumed at iteration 1; then from the finished checkpoint
        assert again.history_ == straight.history_
        np.testing.assert_array_equal(params(again), params(straight))
        np.testing.assert_array_equal(again.couplings_[1], straight.couplings_[1])
    assert straight.history_[-1]["objective"] < straight.history_[0]["objective"]
    with pytest.raises(InputError, match="other data"):
        fit(2, ck, data=[x[:10] for x in snaps])
    with pytest.raises(InputTypeError, match="checkpoint"):
        MultiMarginalSB(checkpoint=3).fit(snaps, times=[0, 1, 2])


def test_bad_input():
    import anndata

    snaps = [np.zeros((5, 2)), np.ones((5, 2))]
    ad = anndata.AnnData(X=np.zeros((6, 2)))
    ad.obs["day"] = [0.0] * 6
    with pytest.raises(InputError, match="obs has no column 'time'"):
        MultiMarginalSB().fit(ad, time_key="time")
    with pytest.raises(InputError, match="at least two time points"):
        MultiMarginalSB().fit(ad, time_key="day")
    with pytest.raises(InputError, match="obsm has no 'X_pca'"):
        MultiMarginalSB().fit(ad, time_key="day", rep="X_pca")
    with pytest.raises(InputError, match="times"):
        MultiMarginalSB().fit(snaps)
    with pytest.raises(InputError, match="reference"):
        MultiMarginalSB(reference="lorenz").fit(snaps, times=[0, 1])
    bad = [np.zeros((5, 2)), np.full((5, 2), np.nan)]
    with pytest.raises(InputError, match="NaN"):
        MultiMarginalSB().fit(bad, times=[0, 1])
    with pytest.raises(NotFittedError):
        MultiMarginalSB().interpolate(0.5)
