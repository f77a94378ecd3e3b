"""Forward kernels, the prior and the DSM loss against closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.diffusion.sde import VESDE, VPSDE
from stochflow.graph.batch import GraphBatch, pair_mask
from stochflow.graph.sde import GraphPrior, GraphSDE
from stochflow.graph.testing import GaussianGraphModel
from stochflow.graph.training import dsm_loss

SDES = {
    "vp-vp": lambda: GraphSDE(VPSDE(0.1, 1.0), VPSDE(0.1, 1.0)),
    "vp-ve": lambda: GraphSDE(VPSDE(0.1, 1.0), VESDE(0.2, 1.0)),
    "ve-vp": lambda: GraphSDE(VESDE(0.2, 1.0), VPSDE(0.2, 0.8)),
}
GM = GaussianGraphModel([0.5, -1.0], [0.3, 0.1], 0.3, 0.2)


def _mask(B=1):
    return torch.tensor([[True] * 4 + [False] * 2] * B)


def test_gdss_vp_keeps_three_quarters_of_the_signal():
    # β ∈ [0.1, 1]: α(1) = exp(-0.275) ≈ 0.76, σ(1) ≈ 0.65 (REFERENCES)
    a, s = GraphSDE().coefficients("x", torch.tensor([1.0], dtype=torch.float64))
    assert float(a) == pytest.approx(math.exp(-0.275), rel=1e-12)
    assert float(s) == pytest.approx(math.sqrt(1 - math.exp(-0.55)), rel=1e-12)
    assert 0.75 < float(a) < 0.77 and 0.64 < float(s) < 0.66


@pytest.mark.parametrize("name", list(SDES))
def test_perturbation_kernel_moments_match_closed_form(name):
    sde = SDES[name]()
    base = GM.sample(_mask(), seed=3)
    n = 20000
    b = GraphBatch(base.X.expand(n, -1, -1), base.A.expand(n, -1, -1), base.mask.expand(n, -1))
    t = 0.6
    g = torch.Generator().manual_seed(0)
    ex, ea = sde.noise(b.mask, 2, generator=g, dtype=torch.float64)
    Xt, At = sde.perturb(b, t, ex, ea)
    tt = torch.tensor(t, dtype=torch.float64)
    ax, sx = (float(v) for v in sde.coefficients("x", tt))
    aa, sa = (float(v) for v in sde.coefficients("a", tt))
    se = 4.5 / math.sqrt(n)
    real = b.mask[0]
    assert torch.allclose(Xt[:, real].mean(0), ax * base.X[0, real], atol=se * sx)
    assert torch.allclose(Xt[:, real].std(0), torch.full_like(Xt[0, real], sx), rtol=4 * se)
    pm = pair_mask(b.mask[:1])[0]
    assert torch.allclose(At[:, pm].mean(0), aa * base.A[0, pm], atol=se * sa)
    assert torch.allclose(At[:, pm].std(0), torch.full_like(At[0, pm], sa), rtol=4 * se)
    # noise never reaches padding or the diagonal, and A_t stays symmetric
    assert Xt[:, ~real].abs().max() == 0 and At[:, ~pm].abs().max() == 0
    assert torch.equal(At, At.transpose(1, 2))
    # symmetric noise: the (i, j) and (j, i) entries are one variable, distinct pairs independent
    c = torch.corrcoef(torch.stack([At[:, 0, 1], At[:, 1, 0], At[:, 0, 2]]))
    assert float(c[0, 1]) == pytest.approx(1.0) and abs(float(c[0, 2])) < 0.05


@pytest.mark.parametrize("name", list(SDES))
def test_terminal_prior_is_the_terminal_marginal_of_gaussian_data(name):
    sde = SDES[name]()
    data = GM.sample(_mask(4000), seed=1)
    g = torch.Generator().manual_seed(2)
    ex, ea = sde.noise(data.mask, 2, generator=g, dtype=torch.float64)
    XT, AT = sde.perturb(data, sde.T, ex, ea)
    X0, A0 = sde.prior_sampling(data.mask, GraphPrior.from_batch(data), generator=g, dtype=torch.float64)
    m = data.mask
    pm = pair_mask(m)
    for fwd, pri in ((XT[m], X0[m]), (AT[pm], A0[pm])):
        assert torch.allclose(fwd.mean(0), pri.mean(0), atol=0.04)
        assert torch.allclose(fwd.std(0), pri.std(0), rtol=0.04)
    # GDSS's N(0, 1)-like prior misses the terminal mean of VP-(0.1, 1) by α_T m = 0.38 for feature 0
    std = GraphPrior.standard_normal(2)
    X1, _ = sde.prior_sampling(data.mask, std, generator=g, dtype=torch.float64)
    if name.startswith("vp"):
        assert abs(float(X1[m][:, 0].mean() - XT[m][:, 0].mean())) > 0.3


def test_prior_moments_from_data():
    data = GM.sample(_mask(3000), seed=5)
    p = GraphPrior.from_batch(data)
    assert torch.allclose(p.mean_x, GM.mean_x, atol=0.03) and torch.allclose(p.var_x, GM.var_x, rtol=0.05)
    assert p.mean_a == pytest.approx(0.3, abs=0.02) and p.var_a == pytest.approx(0.2, rel=0.05)
    assert GraphPrior.from_dict(p.to_dict()).to_dict() == p.to_dict()


def test_gaussian_score_is_the_gradient_of_the_marginal_log_density():
    sde = SDES["vp-ve"]()
    b = GM.sample(_mask(3), seed=0)
    t = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64)
    X = b.X.clone().requires_grad_(True)
    A = b.A.clone().requires_grad_(True)
    ax, sx = sde.coefficients("x", t)
    aa, sa = sde.coefficients("a", t)
    vx = ax[:, None, None] ** 2 * GM.var_x + sx[:, None, None] ** 2
    va = aa[:, None, None] ** 2 * GM.var_a + sa[:, None, None] ** 2
    m, pm = b.mask[:, :, None].double(), pair_mask(b.mask).double()
    # log density over real features and over the upper triangle (each free entry once)
    logp = (-(X - ax[:, None, None] * GM.mean_x) ** 2 / (2 * vx) * m).sum() \
        + (-(A - aa[:, None, None] * GM.mean_a) ** 2 / (2 * va) * pm.triu(1)).sum()
    gX, gA = torch.autograd.grad(logp, (X, A))
    sX, sA = GM.score_fn(sde)(b.X, b.A, b.mask, t)
    assert torch.allclose(sX, gX)
    # d/dA_ij of a function of the upper entry, read off the symmetric matrix: upper triangle matches
    assert torch.allclose(sA.triu(1), gA.triu(1)) and torch.equal(sA, sA.transpose(1, 2))


def test_dsm_loss_of_the_exact_score_has_its_closed_form_and_is_stationary():
    """E‖σ s* + ε‖² per entry = α²v / (α²v + σ²); scaling the exact score by c moves the loss up."""
    sde = SDES["vp-vp"]()
    data = GM.sample(_mask(6000), seed=7)
    g = torch.Generator().manual_seed(8)
    t = torch.full((6000,), 0.5, dtype=torch.float64)
    ex, ea = sde.noise(data.mask, 2, generator=g, dtype=torch.float64)
    score = GM.score_fn(sde)
    a, s = (float(v) for v in sde.coefficients("x", torch.tensor(0.5, dtype=torch.float64)))
    lx, la = dsm_loss(score, sde, data, t, ex, ea)
    ex_x = (a**2 * GM.var_x / (a**2 * GM.var_x + s**2)).mean()
    ex_a = a**2 * GM.var_a / (a**2 * GM.var_a + s**2)
    assert float(lx) == pytest.approx(float(ex_x), rel=0.03)
    assert float(la) == pytest.approx(ex_a, rel=0.03)

    def scaled(c):
        return lambda X, A, m, t: tuple(c * v for v in score(X, A, m, t))

    c = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    (dc,) = torch.autograd.grad(sum(dsm_loss(scaled(c), sde, data, t, ex, ea)), c)
    assert abs(float(dc)) < 0.02  # d loss / dc vanishes at the exact score
    for c in (0.8, 1.2):
        assert sum(map(float, dsm_loss(scaled(c), sde, data, t, ex, ea))) > float(lx + la)


def test_bad_sde_arguments():
    with pytest.raises(InputTypeError):
        GraphSDE(x="vp")
    with pytest.raises(InputError, match="share T"):
        GraphSDE(VPSDE(T=1.0), VPSDE(T=2.0))
    b = GM.sample(_mask(2), seed=0)
    with pytest.raises(InputError, match="shape"):
        GraphSDE().marginal_prob(b, torch.zeros(3))
    with pytest.raises(InputError):
        GraphSDE().prior_sampling(torch.ones(2, 3), GM.prior())
