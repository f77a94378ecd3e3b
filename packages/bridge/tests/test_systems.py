"""Generated systems (Lotka-Volterra, repressilator, branching) and the nonlinear references: closed forms of
the drifts and flows, refinement recovering the Lotka-Volterra parameters, held-out prediction vs Brownian."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from stochflow.bridge.drift_reference import DriftReference, mlp_drift
from stochflow.bridge.mmsb import MultiMarginalSB
from stochflow.bridge.snapshots import (
    branching_snapshots,
    lotka_volterra_snapshots,
    read_snapshots,
    repressilator_snapshots,
)
from stochflow.bridge.systems import LotkaVolterraDrift, PitchforkDrift, RepressilatorDrift
from stochflow.core.errors import InputError, InputTypeError

LV_TRUE = {"alpha": 1.0, "beta": 0.4, "gamma": 0.4, "delta": 0.1}


def _w2(p: np.ndarray, q: np.ndarray) -> float:
    C = ((p[:, None] - q[None]) ** 2).sum(-1)
    r, c = linear_sum_assignment(C)
    return float(np.sqrt(C[r, c].mean()))


def test_drifts_match_their_equations():
    x = torch.tensor([[3.0, 2.0], [0.5, 4.0]], dtype=torch.float64)
    f = LotkaVolterraDrift(1.0, 0.4, 0.4, 0.1)(x).detach().numpy()
    np.testing.assert_allclose(f, [[3 - 0.4 * 6, 0.1 * 6 - 0.8], [0.5 - 0.4 * 2, 0.1 * 2 - 1.6]], rtol=1e-12)
    z = torch.tensor([[1.0, 2.0, 0.5]], dtype=torch.float64)
    g = RepressilatorDrift(10.0, 3.0, 1.0, 1.0)(z).detach().numpy()[0]
    np.testing.assert_allclose(g, [10 / (1 + 0.125) - 1, 10 / 2 - 2, 10 / 9 - 0.5], rtol=1e-12)
    p = PitchforkDrift(2.0)(torch.tensor([[0.5, 0.3]], dtype=torch.float64)).detach().numpy()[0]
    np.testing.assert_allclose(p, [1.0, 2 * (0.5 * 0.3 - 0.027)], rtol=1e-12)
    assert LotkaVolterraDrift().values() == pytest.approx(LV_TRUE)
    with pytest.raises(InputError, match="positive"):
        LotkaVolterraDrift(alpha=-1.0)


def test_reference_flow_conserves_the_lotka_volterra_invariant():
    """The deterministic LV flow keeps V = delta x - gamma log x + beta y - alpha log y constant; with additive
    noise the variance along the flow is sigma^2 h."""
    ref = DriftReference(LotkaVolterraDrift(), 2, sigma=0.3, dt=0.05)
    x = torch.tensor([[5.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    (m,), (v,) = ref.flow(x, [3.0])

    def V(z):
        return 0.1 * z[:, 0] - 0.4 * torch.log(z[:, 0]) + 0.4 * z[:, 1] - torch.log(z[:, 1])

    np.testing.assert_allclose(V(m.detach()).numpy(), V(x).numpy(), atol=1e-7)
    assert float((m.detach() - x).abs().min()) > 0.1   # it moved
    np.testing.assert_allclose(v.detach().numpy(), 0.09 * 3.0, rtol=1e-12)


def test_drift_bridge_is_exact_for_a_constant_drift():
    """dX = c dt + sigma dW from x to y over h: X_u ~ N(x + (u/h)(y - x), sigma^2 u (h - u) / h)."""

    class Const(torch.nn.Module):
        def forward(self, z):
            return torch.ones_like(z) * torch.tensor([1.0, -2.0], dtype=z.dtype)

    ref = DriftReference(Const(), 2, sigma=0.5)
    n = 20000
    x, y = torch.zeros(n, 2, dtype=torch.float64), torch.full((n, 2), 3.0, dtype=torch.float64)
    z = ref.bridge_sample(x, y, 0.4, 2.0, generator=torch.Generator().manual_seed(0)).numpy()
    var = 0.25 * 0.4 * 1.6 / 2.0
    np.testing.assert_allclose(z.mean(0), 0.6, atol=4 * math.sqrt(var / n))
    np.testing.assert_allclose(z.var(0), var, rtol=0.05)


def test_generators_are_seeded_anndata_with_a_time_column():
    lv = lotka_volterra_snapshots(n_cells=20, times=[0.0, 1.0, 2.0], seed=3)
    assert lv.shape == (60, 2) and list(lv.var_names) == ["prey", "predator"]
    assert sorted(set(lv.obs["day"])) == [0.0, 1.0, 2.0] and (lv.X > 0).all()
    assert lv.uns["truth"]["alpha"] == pytest.approx(1.0) and lv.uns["truth"]["noise"] == "multiplicative"
    np.testing.assert_array_equal(lotka_volterra_snapshots(n_cells=20, times=[0.0, 1.0, 2.0], seed=3).X, lv.X)
    assert not np.array_equal(lotka_volterra_snapshots(n_cells=20, times=[0.0, 1.0, 2.0], seed=4).X, lv.X)
    rep = repressilator_snapshots(n_cells=15, times=[0.0, 2.0], seed=0, time_key="hour")
    assert rep.shape == (30, 3) and "hour" in rep.obs and (rep.X > 0).all()
    br = branching_snapshots(n_cells=100, dim=12, seed=0)
    Q = br.uns["truth"]["Q"]
    assert br.shape == (900, 12) and br.obsm["X_latent"].shape == (900, 2)
    np.testing.assert_allclose(Q.T @ Q, np.eye(2), atol=1e-12)
    last = br.obs["day"].to_numpy() == 4.0
    counts = br.obs["branch"][last].value_counts()
    assert counts["up"] > 20 and counts["down"] > 20          # both fates are taken
    assert (br.obs["branch"][br.obs["day"].to_numpy() == 0.0] == "root").all()
    np.testing.assert_allclose(np.linalg.norm(br.X[last] - br.obsm["X_latent"][last] @ Q.T, axis=1).mean(),
                               0.05 * math.sqrt(12), rtol=0.1)   # measurement noise level
    with pytest.raises(InputError, match="positive"):
        lotka_volterra_snapshots(x0_mean=(1.0, -1.0))
    with pytest.raises(InputError, match="dim"):
        branching_snapshots(dim=1)


@pytest.fixture(scope="module")
def lv_fits():
    """Lotka-Volterra (Shen et al.'s parameters) observed at t = 0, 1, ..., 10, 80 cells each; fits on even
    times, from a guessed start alpha = beta = gamma = delta = 0.5, sigma refit."""
    ad = lotka_volterra_snapshots(n_cells=80, seed=0)
    t, snaps, _ = read_snapshots(ad)
    train, test = list(range(0, len(t), 2)), list(range(1, len(t), 2))
    data = [snaps[k] for k in train]
    lv = DriftReference(LotkaVolterraDrift(0.5, 0.5, 0.5, 0.5), 2, sigma=0.1, noise="multiplicative", dt=0.25,
                        fit_diffusion=True, kind="lotka-volterra")
    fits = {"lotka-volterra": MultiMarginalSB(reference=lv, n_refine=5, warm_start=False).fit(data, times=t[train]),
            "brownian": MultiMarginalSB(reference="brownian").fit(data, times=t[train])}
    return t, snaps, test, fits


def test_refinement_recovers_lotka_volterra_parameters(lv_fits):
    *_, fits = lv_fits
    sb = fits["lotka-volterra"]
    p = sb.reference_params
    for name, true in LV_TRUE.items():     # stated tolerance: 10 % relative, 80 cells per snapshot
        assert p[name] == pytest.approx(true, rel=0.1), p
    obj = [h["objective"] for h in sb.history_]
    assert all(b <= a + 1e-8 for a, b in zip(obj, obj[1:])) and obj[-1] < obj[0]


def test_refined_lotka_volterra_predicts_held_out_times_better_than_brownian(lv_fits):
    t, snaps, test, fits = lv_fits
    w = {ref: np.mean([_w2(sb.interpolate(t[k], n=len(snaps[k]), seed=5), snaps[k]) for k in test])
         for ref, sb in fits.items()}
    assert w["lotka-volterra"] < 0.95 * w["brownian"], w


def test_neural_reference_from_any_module(tmp_path):
    """A user's torch.nn.Module as the drift: refit by maximum likelihood, saved and loaded."""
    rng = np.random.default_rng(0)
    snaps = [rng.normal(size=(30, 2)) * 0.3 + np.array([k, 0.5 * k]) for k in range(3)]
    sb = MultiMarginalSB(reference=mlp_drift(2, hidden=8, depth=1), sigma=0.3, n_refine=1).fit(snaps, times=[0, 1, 2])
    obj = [h["objective"] for h in sb.history_]
    assert obj[-1] < obj[0] and sb.reference_params["kind"] == "neural"
    (m,), _ = sb.reference_.flow(torch.zeros(1, 2, dtype=torch.float64), [1.0])
    np.testing.assert_allclose(m.detach().numpy()[0], [1.0, 0.5], atol=0.2)   # the learned flow carries the mean motion
    sb.save(tmp_path / "m.pt")
    back = MultiMarginalSB.load(tmp_path / "m.pt")
    np.testing.assert_array_equal(back.interpolate(1.5, n=7, seed=1), sb.interpolate(1.5, n=7, seed=1))


def test_nonlinear_reference_bad_input():
    snaps = [np.ones((5, 3)), 2 * np.ones((5, 3))]
    with pytest.raises(InputError, match="2-dimensional"):
        MultiMarginalSB(reference="lotka-volterra").fit(snaps, times=[0, 1])
    with pytest.raises(InputError, match="unknown parameters"):
        MultiMarginalSB(reference="repressilator", reference_init={"alpha": 1.0}).fit(snaps, times=[0, 1])
    with pytest.raises(InputTypeError, match="torch.nn.Module"):
        MultiMarginalSB(reference=lambda x: x).fit(snaps, times=[0, 1])
    with pytest.raises(InputError, match="noise"):
        MultiMarginalSB(reference="lv", noise="cubic").fit(snaps, times=[0, 1])
    with pytest.raises(InputError, match="returns|return"):
        DriftReference(torch.nn.Linear(3, 2, dtype=torch.float64), 3)
