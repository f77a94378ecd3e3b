"""Nested Monte Carlo reference for the xVA layers: clean values from an inner simulation.

:class:`NestedMonteCarlo` is the :class:`~stochflow.xva.layers.XvaPipeline` with layer (i)
replaced: at every outer path and date the netting set's value is the discounted mean payoff over
``inner`` exact GBM continuations to the last maturity (all trades must mature then). The other
layers use the same estimators, so the two differ only in how clean values are obtained. FVA by
BSDE is not run here (``settings.fva`` is forced to ``"none"``); the Monte Carlo FVA check in
``diagnostics["fva_first_order"]`` applies (exact for symmetric funding rates).
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from stochflow.core.errors import InputError
from stochflow.xva import checks
from stochflow.xva.forward import brownian_increments
from stochflow.xva.layers import XvaPipeline


class NestedMonteCarlo(XvaPipeline):
    """The pipeline with clean values by nested Monte Carlo (``inner`` paths per outer node)."""

    def __init__(self, portfolio, market, csa=None, settings=None, *, inner: int = 1000):
        super().__init__(portfolio, market, csa, settings)
        self.settings = replace(self.settings, fva="none")
        self.inner = checks.count("inner", inner, minimum=2)
        if any(abs(tr.maturity - self.maturity) > 1e-12 for tr in portfolio.trades):
            raise InputError("nested Monte Carlo here needs every trade to mature at the same date")
        self.use_bsde_values = True  # values come from clean_values below, never from closed forms
        self._calls = 0

    def fit_clean(self):
        return None

    def clean_values(self, t: torch.Tensor, s: torch.Tensor, dw: torch.Tensor) -> torch.Tensor:
        n_dates, batch, d = s.shape
        model = self.market.asset_factors()
        T = self.maturity
        out = torch.empty(n_dates, batch, dtype=s.dtype, device=s.device)
        chunk = max(1, 200_000 // self.inner)
        for i in range(n_dates):
            ti = float(t[i])
            if T - ti < 1e-12:
                out[i] = sum(tr.payoff(s[i]) for tr in self.portfolio.trades)
                continue
            grid = torch.tensor([ti, T], dtype=s.dtype, device=s.device)
            for b0 in range(0, batch, chunk):
                x0 = s[i, b0:b0 + chunk]
                m = x0.shape[0]
                dw_in = brownian_increments(grid, m * self.inner, d, seed=self.settings.seed,
                                            keys=("nested", self._calls, i, b0))
                end = model.transition(grid, dw_in, x0=x0.repeat_interleave(self.inner, 0))[-1]
                pay = sum(tr.payoff(end) for tr in self.portfolio.trades)
                out[i, b0:b0 + m] = math.exp(-self.market.rate * (T - ti)) * pay.view(m, self.inner).mean(1)
        self._calls += 1
        return out
