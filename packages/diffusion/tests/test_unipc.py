"""UniPC: its φ functions, its coefficients, the samplers it must equal, and its bad input."""

import math
from decimal import Decimal, getcontext

import pytest
import torch

import stochflow.diffusion as sfd
from stochflow.core.errors import InputError, InputTypeError
from stochflow.diffusion.samplers.phi import phi
from stochflow.diffusion.samplers.unipc import unipc_coefficients
from stochflow.diffusion.testing import GaussianMixture

VP = sfd.VPSDE()
GM = GaussianMixture([0.3, 0.7], [[-1.0, 0.5, 0.0], [1.0, -0.5, 2.0]], [0.05, 0.2])


@pytest.mark.parametrize("z", [-3.0, -0.7, -0.5, -0.49, -1e-3, 0.0, 1e-6, 0.3, 0.5, 2.0])
def test_phi_closed_forms(z):
    """φ_0..φ_3 against their closed forms evaluated in 60-digit decimal arithmetic (in float64 the
    closed forms cancel for small z, which is why ``phi`` switches to the series there)."""
    getcontext().prec = 60
    if z == 0.0:
        want = [1, 1, 0.5, 1 / 6]
    else:
        d = Decimal(z)
        e = d.exp()
        want = [e, (e - 1) / d, (e - 1 - d) / d**2, (e - 1 - d - d**2 / 2) / d**3]
    for k, w in enumerate(want):
        assert math.isclose(phi(z, k), float(w), rel_tol=1e-14), (z, k, phi(z, k), w)


def test_phi_is_continuous_across_the_series_switch_and_matches_a_quadrature():
    for k in (1, 2, 3, 4):
        lo, hi = phi(-0.5 + 1e-12, k), phi(-0.5 - 1e-12, k)
        assert math.isclose(lo, hi, rel_tol=1e-10)
        # φ_k(z) = ∫_0^1 e^{(1−u)z} u^{k−1}/(k−1)! du, midpoint rule with 20000 cells
        u = (torch.arange(20000, dtype=torch.float64) + 0.5) / 20000
        quad = float((torch.exp((1 - u) * -0.2) * u ** (k - 1)).mean()) / math.factorial(k - 1)
        assert math.isclose(phi(-0.2, k), quad, rel_tol=1e-8)


def test_coefficients_satisfy_the_order_conditions():
    z, rs = -0.4, [-0.8, -1.9, 1.0]
    for variant, b in (("bh1", z), ("bh2", math.expm1(z))):
        a = unipc_coefficients(rs, z, variant)
        for k in (1, 2, 3):
            lhs = sum(am * r ** (k - 1) for am, r in zip(a, rs))
            assert math.isclose(lhs, math.factorial(k) * z * phi(z, k + 1) / b, rel_tol=1e-12)
    assert unipc_coefficients([-1.0], z, "bh1") == [0.5]


def _run(solver, steps=9, **kw):
    x_T = VP.prior_sampling((32, 3), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return sfd.sample(GM.score_fn(VP), VP, None, solver, steps=steps, x_T=x_T, lower_order_final=False, **kw)


@pytest.mark.parametrize("order,other", [(1, "ddim"), (2, "dpm-solver++2m"), (3, "dpm-solver++3m")])
def test_predictor_alone_equals_the_exponential_integrators(order, other):
    """With B(h) = e^h − 1, UniP-1 is DDIM, UniP-2 (a = ½) is DPM-Solver++(2M) and UniP-3 is
    DPM-Solver++(3M) (with its factor 2 in D₂): two points' order conditions do not depend on B, and
    its second (warm-up) step is UniP-2's."""
    ours = _run("unipc", order=order, variant="bh2", corrector=False)
    torch.testing.assert_close(ours.samples, _run(other).samples, rtol=1e-12, atol=1e-12)
    if order == 1:  # no coefficient at all: B(h) does not enter
        torch.testing.assert_close(_run("unipc", order=1, variant="bh1", corrector=False).samples, ours.samples)


def test_nfe_is_steps_and_the_corrector_changes_the_result():
    a = _run("unipc", steps=7)
    b = _run("unipc", steps=7, corrector=False)
    assert a.nfe == b.nfe == 7 and sfd.evaluations_per_step("unipc") == 1
    assert not torch.allclose(a.samples, b.samples)


def test_lower_order_final_changes_only_the_last_steps():
    x_T = VP.prior_sampling((8, 3), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    one = sfd.sample(GM.score_fn(VP), VP, None, "unipc", steps=1, x_T=x_T, order=3)
    ddim = sfd.sample(GM.score_fn(VP), VP, None, "ddim", steps=1, x_T=x_T)
    torch.testing.assert_close(one.samples, ddim.samples)  # one step: order 1, no corrector after it


@pytest.mark.parametrize("kw,err,match", [
    ({"order": 4}, InputError, "order must be 1, 2 or 3"),
    ({"order": 0}, InputError, "order must be 1, 2 or 3"),
    ({"order": 2.0}, InputTypeError, "order must be an int"),
    ({"order": True}, InputTypeError, "order must be an int"),
    ({"variant": "bh3"}, InputError, "bh1"),
    ({"variant": "BH2"}, InputError, "unipc variant"),
    ({"corrector": "yes"}, InputTypeError, "corrector"),
    ({"predict_x0": True}, InputError, "takes no option"),
])
def test_bad_options_raise_before_any_evaluation(kw, err, match):
    calls = []

    def score(x, t):
        calls.append(1)
        return GM.score(x, t, VP)

    with pytest.raises(err, match=match):
        sfd.sample(score, VP, (4, 3), "unipc", steps=3, **kw)
    assert not calls
