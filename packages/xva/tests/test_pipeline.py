"""The xVA layers against closed forms, the measure change, reproducibility and bad inputs."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from stochflow.core import derive_seed
from stochflow.core.errors import InputError, InputTypeError
from stochflow.xva import (
    CSA,
    BasketOption,
    EuropeanOption,
    ExponentialDefault,
    Forward,
    Market,
    Portfolio,
    Settings,
    StructuralFirm,
    XvaPipeline,
    black_scholes,
    cva_forward_exponential,
    fva_forward,
)

FWD = Portfolio([Forward(maturity=1.0, strike=100.0)])


def within(est, ref, k=4.0):
    return abs(est.value - ref) < k * est.stderr


def test_unilateral_cva_of_forward_with_exponential_default():
    market = Market(rate=0.0, spot=[100.0], vol=[0.25], counterparty=ExponentialDefault(0.1, 0.3))
    res = XvaPipeline(FWD, market, settings=Settings(n_steps=250, n_paths=40_000, fva="none")).run()
    ref = cva_forward_exponential(100, 100, 1.0, 0.0, 0.25, 0.1, 0.3)
    assert ref == pytest.approx(0.43780, abs=1e-5)
    assert within(res.cva, ref)
    assert res.dva.value == 0 and res.colva.value == 0 and res.mva.value == 0
    assert res.cva.ci95[0] < res.cva.value < res.cva.ci95[1]


def test_blocked_monte_carlo_is_the_blocks_own_draws_and_stays_unbiased():
    """``mc_block_size``: block b is drawn from its own seed (so any number of ranks can share the
    blocks out), and the estimates still match the closed-form CVA; without it, one draw."""
    market = Market(rate=0.0, spot=[100.0], vol=[0.25], counterparty=ExponentialDefault(0.1, 0.3))
    settings = Settings(n_steps=250, n_paths=40_000, fva="none", mc_block_size=15_000)
    pipe = XvaPipeline(FWD, market, settings=settings)
    samples = pipe.monte_carlo(tilted=False)
    assert samples["cva"].shape == (40_000,) and samples["exposure"].shape == (251, 40_000)
    last = pipe.path_samples(pipe.simulate(10_000, seed=derive_seed(0, "block", 2), keys=("main",), tilted=False))
    assert torch.equal(samples["cva"][30_000:], last["cva"])
    assert torch.equal(samples["exposure"][:, 30_000:], last["exposure"])
    res = pipe.run()
    assert within(res.cva, cva_forward_exponential(100, 100, 1.0, 0.0, 0.25, 0.1, 0.3))
    one_draw = XvaPipeline(FWD, market, settings=Settings(n_steps=250, n_paths=40_000, fva="none")).run()
    assert res.cva.value != one_draw.cva.value  # other paths ...
    assert abs(res.cva.value - one_draw.cva.value) < 4 * math.hypot(res.cva.stderr, one_draw.cva.stderr)


@pytest.mark.slow
def test_fva_of_forward_with_funding_spread():
    market = Market(rate=0.02, spot=[100.0], vol=[0.25], borrow_rate=0.04, lend_rate=0.04)
    res = XvaPipeline(FWD, market, settings=Settings(n_steps=20, n_paths=1000, dtype="float32",
                                                     bsde=dict(iterations=400))).run()
    ref = fva_forward(100, 100, 1.0, 0.02, 0.04)
    assert ref == pytest.approx(0.039209, abs=1e-6)
    assert abs(res.fva.value / ref - 1) < 0.01
    # the Monte Carlo check (exact for symmetric funding) agrees within its standard error
    check = res.diagnostics["fva_first_order"]
    assert abs(check["value"] - ref) < 4 * check["stderr"]


def test_colva_of_a_fully_collateralised_forward():
    # C = V (no threshold, no lag): ColVA = (r_c - r) Σ Δt E[D(t_n) V_n] = (r_c - r) T V_0
    market = Market(rate=0.02, spot=[100.0], vol=[0.25], collateral_rate=0.05)
    pf = Portfolio([Forward(maturity=1.0, strike=95.0)])
    res = XvaPipeline(pf, market, CSA(threshold=0.0, mpor=0.0),
                      Settings(n_steps=20, n_paths=20_000, fva="none")).run()
    ref = 0.03 * 1.0 * (100 - 95 * math.exp(-0.02))
    assert within(res.colva, ref)
    assert res.cva.value == 0  # collateral covers the exposure, and nobody defaults


@pytest.mark.slow
def test_initial_margin_is_the_conditional_quantile_of_the_value_change():
    r, vol, k = 0.02, 0.25, 100.0
    market = Market(rate=r, spot=[100.0], vol=[vol])
    csa = CSA(threshold=0.0, mpor=0.04, initial_margin=True, im_quantile=0.99)
    pipe = XvaPipeline(Portfolio([Forward(maturity=1.0, strike=k)]), market, csa,
                       Settings(n_steps=50, n_paths=1000, fva="none", im_iterations=400))
    net = pipe.fit_initial_margin()
    delta = pipe.lag * 1.0 / 50
    t = torch.tensor([0.3, 0.5], dtype=torch.float64)
    s = torch.tensor([[[90.0], [110.0]], [[95.0], [105.0]]], dtype=torch.float64)
    with torch.no_grad():
        q = net(t, s)
    for i, ti in enumerate(t.tolist()):
        for j in range(2):
            st = float(s[i, j, 0])
            for col, level in enumerate((0.99, 0.01)):
                growth = math.exp((r - 0.5 * vol**2) * delta + vol * math.sqrt(delta) * norm.ppf(level)) - 1
                exact = st * growth - k * math.exp(-r * (1.0 - ti)) * (math.exp(r * delta) - 1)
                assert abs(float(q[i, j, col]) - exact) < 0.1 * abs(exact)


def rare_default_market():
    corr = [[1.0, 0.3], [0.3, 1.0]]
    return Market(rate=0.01, spot=[100.0], vol=[0.3], corr=corr,
                  counterparty=StructuralFirm(value=100.0, barrier=55.0, vol=0.2, recovery=0.4))


def test_measure_change_leaves_cva_unchanged_and_reduces_its_error():
    pf = Portfolio([EuropeanOption(maturity=1.0, strike=100.0, kind="call")])
    plain = XvaPipeline(pf, rare_default_market(), settings=Settings(
        n_steps=20, n_paths=40_000, fva="none", measure_change=False, seed=1)).run()
    tilted_pipe = XvaPipeline(pf, rare_default_market(), settings=Settings(
        n_steps=20, n_paths=40_000, fva="none", measure_change=True, seed=1))
    assert tilted_pipe.theta is not None and tilted_pipe.theta[1] < 0 and tilted_pipe.theta[0] == 0
    tilted = tilted_pipe.run()
    both = math.hypot(plain.cva.stderr, tilted.cva.stderr)
    assert abs(plain.cva.value - tilted.cva.value) < 4 * both
    assert tilted.cva.stderr < 0.5 * plain.cva.stderr
    # default probabilities, re-weighted, agree too
    se = math.sqrt(plain.default_probability["counterparty"] / 40_000)
    assert abs(plain.default_probability["counterparty"] - tilted.default_probability["counterparty"]) < 4 * se


def test_same_seed_same_numbers():
    market = Market(rate=0.01, spot=[100.0], vol=[0.2], counterparty=StructuralFirm(100.0, 70.0, 0.25),
                    corr=[[1, 0.2], [0.2, 1]])
    run = lambda seed: XvaPipeline(FWD, market, settings=Settings(n_steps=10, n_paths=2000, fva="none",
                                                                  seed=seed)).run()
    a, b, c = run(3), run(3), run(4)
    assert a.cva == b.cva and np.array_equal(a.profile.epe, b.profile.epe)
    assert a.cva != c.cva


@pytest.mark.slow
def test_bsde_clean_values_in_the_pipeline_match_the_closed_form():
    market = Market(rate=0.03, spot=[100.0, 80.0], vol=[0.2, 0.3], corr=[[1, 0.4], [0.4, 1]])
    pf = Portfolio([Forward(maturity=1.0, strike=100.0),
                    EuropeanOption(maturity=0.5, underlying=1, strike=80.0, kind="put", notional=2.0)])
    pipe = XvaPipeline(pf, market, settings=Settings(n_steps=10, n_paths=4000, values="bsde", fva="none",
                                                     dtype="float32", bsde=dict(iterations=800, width=32)))
    res = pipe.run()
    exact = (100 - 100 * math.exp(-0.03)) + 2 * black_scholes(80.0, 80.0, 0.5, 0.03, 0.3, "put")
    assert res.clean_closed_form == pytest.approx(exact, rel=1e-5)
    assert abs(pipe.clean_result.y0 - exact) < 0.005 * (100 + 2 * 80) / 2
    # discounted EPE at mid-life within the a-posteriori error indicator of the closed-form one
    exact_pipe = XvaPipeline(pf, market, settings=Settings(n_steps=10, n_paths=4000, fva="none", dtype="float32"))
    ref = exact_pipe.run()
    assert abs(res.profile.epe[5] - ref.profile.epe[5]) < pipe.clean_result.error_indicator


def test_bad_inputs_raise_before_work():
    with pytest.raises(InputError, match="positive semi-definite"):
        Market(rate=0.0, spot=[1.0, 1.0, 1.0], vol=[0.2] * 3,
               corr=[[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]])
    with pytest.raises(InputError, match="volatility"):
        Market(rate=0.0, spot=[100.0], vol=[-0.2])
    with pytest.raises(InputError, match="recovery"):
        Market(rate=0.0, spot=[100.0], vol=[0.2], counterparty=ExponentialDefault(0.1, 1.3))
    with pytest.raises(InputError, match="intensity"):
        Market(rate=0.0, spot=[100.0], vol=[0.2], counterparty=ExponentialDefault(-0.1, 0.3))
    with pytest.raises(InputError, match="past"):
        Forward(maturity=-0.5, strike=100.0)
    with pytest.raises(InputError, match="grid"):
        XvaPipeline(Portfolio([Forward(maturity=1.0), Forward(maturity=0.33)]),
                    Market(rate=0.0, spot=[100.0], vol=[0.2]), settings=Settings(n_steps=10))
    with pytest.raises(InputError, match="out of range"):
        XvaPipeline(Portfolio([Forward(maturity=1.0, underlying=3)]), Market(rate=0.0, spot=[100.0], vol=[0.2]))
    with pytest.raises(InputError, match="closed form"):
        XvaPipeline(Portfolio([BasketOption(maturity=1.0, weights=(0.5, 0.5))]),
                    Market(rate=0.0, spot=[100.0, 90.0], vol=[0.2, 0.2]), settings=Settings(values="exact"))
    with pytest.raises(InputTypeError):
        XvaPipeline([Forward(maturity=1.0)], Market(rate=0.0, spot=[100.0], vol=[0.2]))
    with pytest.raises(InputError, match="2x2|2 x 2|2x"):
        Market(rate=0.0, spot=[100.0], vol=[0.2], counterparty=StructuralFirm(100, 70, 0.2), corr=np.eye(3))
    with pytest.raises(InputError):
        CSA(threshold=-1.0)
    with pytest.raises(InputError):
        Settings(n_paths=0)
    with pytest.raises(InputError, match="device"):
        Settings(device="abacus")
    with pytest.raises(InputError, match="values"):
        Settings(values="guess")
    with pytest.raises(InputError, match="mc_block_size"):
        Settings(mc_block_size=0)
    with pytest.raises(InputTypeError, match="mc_block_size"):
        Settings(mc_block_size=2.5)


def test_bsde_clean_values_end_at_the_payoff():
    # the rollout's Y_N carries the BSDE's terminal residual; the pipeline uses the payoff at T instead
    market = Market(rate=0.02, spot=[100.0, 90.0], vol=[0.2, 0.3], corr=[[1, 0.4], [0.4, 1]])
    pf = Portfolio([BasketOption(maturity=1.0, weights=(0.5, 0.5), strike=95.0, kind="call", notional=2.0)])
    pipe = XvaPipeline(pf, market, settings=Settings(n_steps=4, n_paths=64, values="bsde", fva="none",
                                                     bsde=dict(iterations=3, width=4, batch_size=8)))
    pipe.fit_clean()
    paths = pipe.simulate(16, seed=0, tilted=False)
    torch.testing.assert_close(paths.aux["V"][-1], pf.trades[0].payoff(paths.x[-1, :, :2]))
    ys, _ = pipe.clean_result.rollout(pipe.clean_problem, paths.__class__(t=paths.t, x=paths.x[..., :2],
                                                                          dw=paths.dw[..., :2]))
    torch.testing.assert_close(paths.aux["V"][:-1], ys[:-1])
