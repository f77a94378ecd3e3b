"""Conformance cases of stochflow-xva's entries (see :mod:`stochflow.core.testing`)."""

from __future__ import annotations

import torch

from stochflow.core.testing import Case


def _dtype(dtype: str) -> torch.dtype:
    return getattr(torch, dtype)


def case_deep_bsde() -> Case:
    from stochflow.xva.bsde import BSDE, linear_driver
    from stochflow.xva.forward import CorrelatedGBM
    from stochflow.xva.solver import DeepBSDESolver

    def problem(maturity=1.0):
        gbm = CorrelatedGBM([100.0, 90.0], [0.2, 0.3], [0.02, 0.02], [[1, 0.5], [0.5, 1]])
        return BSDE(gbm, linear_driver(0.02), lambda x: (x.mean(-1) - 95).clamp_min(0), maturity, 4)

    def run(*, backend, dtype, seed, device):
        prob = problem()
        res = DeepBSDESolver(iterations=3, batch_size=16, width=8, seed=seed, dtype=dtype, device=device).solve(prob)
        paths = prob.sample(8, seed=seed, dtype=_dtype(dtype), device=device)
        ys, zs = res.rollout(prob, paths)
        return {"y0": res.model.y0.detach(), "y": ys, "z": zs}

    return Case(run=run, bad_inputs=[lambda: DeepBSDESolver(network="lstm"),
                                     lambda: DeepBSDESolver(dtype="float16"),
                                     lambda: problem(maturity=-1.0),
                                     lambda: DeepBSDESolver(iterations=1).fit("not a problem")])


def case_correlated_gbm() -> Case:
    from stochflow.xva.forward import CorrelatedGBM, time_grid

    def run(*, backend, dtype, seed, device):
        t = time_grid(1.0, 5, dtype=_dtype(dtype), device=device)
        paths = CorrelatedGBM([100.0, 50.0], [0.2, 0.3], [0.01, 0.01], [[1, -0.3], [-0.3, 1]]).sample(
            t, 16, seed=seed, theta=[0.0, -0.5])
        return {"x": paths.x, "dw": paths.dw, "log_density": paths.log_density}

    return Case(run=run, bad_inputs=[
        lambda: CorrelatedGBM([1.0, 1.0, 1.0], [0.2] * 3, [0.0] * 3,
                              [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]]),
        lambda: CorrelatedGBM([100.0], [-0.2], [0.0]),
        lambda: CorrelatedGBM([-1.0], [0.2], [0.0])])


def case_first_passage() -> Case:
    from stochflow.xva.credit import StructuralFirm, first_passage_steps
    from stochflow.xva.forward import CorrelatedGBM, time_grid

    def run(*, backend, dtype, seed, device):
        t = time_grid(1.0, 8, dtype=_dtype(dtype), device=device)
        x = CorrelatedGBM([100.0], [0.4], [0.0]).sample(t, 64, seed=seed).x[..., 0]
        return {"asset": x, "default_step": first_passage_steps(x, 80.0, 0.4, t, seed=seed)}

    return Case(run=run, bad_inputs=[lambda: StructuralFirm(value=100.0, barrier=120.0, vol=0.2),
                                     lambda: StructuralFirm(value=100.0, barrier=70.0, vol=0.2, recovery=1.5)])


def case_clean_value() -> Case:
    from stochflow.xva.layers import CleanValueProblem
    from stochflow.xva.market import Market
    from stochflow.xva.products import EuropeanOption, Forward, Portfolio

    market = Market(rate=0.02, spot=[100.0, 80.0], vol=[0.2, 0.25], corr=[[1, 0.3], [0.3, 1]])
    pf = Portfolio([Forward(maturity=1.0, strike=100.0), EuropeanOption(maturity=0.5, underlying=1, strike=80.0)])

    def run(*, backend, dtype, seed, device):
        prob = CleanValueProblem(pf, market, 4)
        paths = prob.sample(16, seed=seed, dtype=_dtype(dtype), device=device)
        return {"x": paths.x, "terminal": prob.terminal(paths), "cash": prob.cashflow(2, paths)}

    return Case(run=run, bad_inputs=[lambda: CleanValueProblem(pf, market, 3),  # 0.5 not on a 3-step grid
                                     lambda: Forward(maturity=0.0)])
