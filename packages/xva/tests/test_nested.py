"""The multi-layer pipeline (deep BSDE clean values) against nested Monte Carlo on a small portfolio."""

import math

import pytest

from stochflow.core.errors import InputError
from stochflow.xva import (
    CSA,
    BasketOption,
    Forward,
    Market,
    NestedMonteCarlo,
    Portfolio,
    Settings,
    StructuralFirm,
    XvaPipeline,
)


def small_case():
    corr = [[1.0, 0.4, 0.2, 0.2], [0.4, 1.0, 0.2, 0.2], [0.2, 0.2, 1.0, 0.2], [0.2, 0.2, 0.2, 1.0]]
    market = Market(rate=0.02, spot=[100.0, 90.0], vol=[0.25, 0.2], corr=corr,
                    bank=StructuralFirm(100.0, 60.0, 0.25, 0.4), counterparty=StructuralFirm(100.0, 70.0, 0.25, 0.4),
                    borrow_rate=0.04, lend_rate=0.04, collateral_rate=0.01)
    pf = Portfolio([BasketOption(maturity=1.0, weights=(0.5, 0.5), strike=95.0, kind="call", notional=2.0),
                    Forward(maturity=1.0, underlying=1, strike=90.0, notional=-1.0)])
    return pf, market, CSA(threshold=3.0, mpor=0.1)


@pytest.mark.slow
def test_pipeline_matches_nested_monte_carlo_within_confidence_intervals():
    pf, market, csa = small_case()
    settings = Settings(n_steps=10, n_paths=4000, values="bsde", fva="none", measure_change=False, seed=2,
                        dtype="float32", bsde=dict(iterations=600, width=32))
    deep = XvaPipeline(pf, market, csa, settings).run()
    nested = NestedMonteCarlo(pf, market, csa, settings, inner=400).run()
    for name in ("cva", "dva", "colva"):
        a, b = getattr(deep, name), getattr(nested, name)
        assert abs(b.value) > 2 * b.stderr, name  # a non-trivial adjustment
        assert abs(a.value - b.value) < 4 * math.hypot(a.stderr, b.stderr), name
    # the clean value at t = 0: nested inner mean vs BSDE Y0, within the inner standard error scale
    assert abs(deep.clean.value - nested.clean.value) < 0.02 * (2 * 95 + 90)


def test_nested_needs_a_common_maturity():
    pf, market, csa = small_case()
    pf2 = Portfolio([*pf.trades, Forward(maturity=0.5, strike=100.0)])
    with pytest.raises(InputError, match="same date"):
        NestedMonteCarlo(pf2, market, csa, Settings(n_steps=10))
