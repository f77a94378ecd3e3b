"""Products and portfolios: forwards, European calls and puts, basket options on several assets,
and a netting set of such trades.

A trade pays ``notional * payoff(S_T)`` at its maturity (a negative notional is a short position).
Where a Black–Scholes closed form exists (forwards, calls, puts) :meth:`Trade.value` gives the
value at ``t`` along paths; a basket has none and is valued by the deep BSDE or Monte Carlo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.xva import checks
from stochflow.xva.closed_forms import black_scholes, forward_value


@dataclass(frozen=True)
class Trade:
    """Base class: a cash flow ``notional * payoff(S_T)`` at ``maturity``."""

    maturity: float
    notional: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "maturity", checks.maturity(f"{self.label}: maturity", self.maturity))
        object.__setattr__(self, "notional", checks.as_float(f"{self.label}: notional", self.notional))

    @property
    def label(self) -> str:
        return self.name or type(self).__name__.lower()

    @property
    def underlyings(self) -> tuple[int, ...]:
        raise NotImplementedError

    def unit_payoff(self, s: torch.Tensor) -> torch.Tensor:
        """Payoff per unit notional from asset values ``s`` of shape ``(..., d)``."""
        raise NotImplementedError

    def payoff(self, s: torch.Tensor) -> torch.Tensor:
        return self.notional * self.unit_payoff(s)

    def unit_value(self, t, s: torch.Tensor, rate: float, vols) -> torch.Tensor | None:
        """Closed-form value per unit notional at ``t <= maturity`` (``None`` where there is none)."""
        return None

    def value(self, t, s: torch.Tensor, rate: float, vols) -> torch.Tensor | None:
        """Value at time ``t`` from asset values ``s`` of shape ``(..., d)``; ``t`` is a float or a
        tensor broadcasting against ``s[..., 0]`` (e.g. ``(N + 1, 1)`` for paths ``(N + 1, B, d)``).
        At maturity the value is the payoff (cum cash flow), after it 0."""
        tt = torch.as_tensor(t, dtype=s.dtype, device=s.device)
        live = tt <= self.maturity + 1e-12
        unit = self.unit_value(torch.clamp_max(tt, self.maturity), s, rate, vols)
        if unit is None:
            return None
        return torch.where(live, self.notional * unit, torch.zeros_like(unit))

    def check_assets(self, n_assets: int) -> None:
        bad = [i for i in self.underlyings if not 0 <= i < n_assets]
        if bad:
            raise InputError(f"{self.label}: underlying index {bad[0]} out of range (there are {n_assets} assets)")


def _strike(label: str, strike: float) -> float:
    return checks.positive(f"{label}: strike", strike, allow_zero=True)


@dataclass(frozen=True)
class Forward(Trade):
    """Long ``notional`` forwards on asset ``underlying`` at ``strike``: pays ``S_T - K``."""

    underlying: int = 0
    strike: float = 100.0

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "strike", _strike(self.label, self.strike))

    @property
    def underlyings(self):
        return (int(self.underlying),)

    def unit_payoff(self, s):
        return s[..., self.underlying] - self.strike

    def unit_value(self, t, s, rate, vols):
        return forward_value(s[..., self.underlying], self.strike, self.maturity, rate, t)


@dataclass(frozen=True)
class EuropeanOption(Trade):
    """A European call or put on one asset."""

    underlying: int = 0
    strike: float = 100.0
    kind: str = "call"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "strike", _strike(self.label, self.strike))
        if self.kind not in ("call", "put"):
            raise InputError(f"{self.label}: kind must be 'call' or 'put', got {self.kind!r}")

    @property
    def underlyings(self):
        return (int(self.underlying),)

    def unit_payoff(self, s):
        x = s[..., self.underlying] - self.strike
        return (x if self.kind == "call" else -x).clamp_min(0)

    def unit_value(self, t, s, rate, vols):
        vol = float(np.asarray(vols)[self.underlying])
        return black_scholes(s[..., self.underlying], self.strike, self.maturity, rate, vol, self.kind, t)


@dataclass(frozen=True)
class BasketOption(Trade):
    """A call or put on ``Σ_i w_i S_i`` (no closed form)."""

    weights: tuple[float, ...] = ()
    strike: float = 100.0
    kind: str = "call"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.weights:
            raise InputError(f"{self.label}: a basket needs weights, one per asset")
        object.__setattr__(self, "weights", tuple(checks.vector(f"{self.label}: weights", list(self.weights))))
        object.__setattr__(self, "strike", _strike(self.label, self.strike))
        if self.kind not in ("call", "put"):
            raise InputError(f"{self.label}: kind must be 'call' or 'put', got {self.kind!r}")

    @property
    def underlyings(self):
        return tuple(i for i, w in enumerate(self.weights) if w != 0)

    def check_assets(self, n_assets: int) -> None:
        if len(self.weights) != n_assets:
            raise InputError(f"{self.label}: {len(self.weights)} weights for {n_assets} assets; give one per asset")

    def unit_payoff(self, s):
        w = torch.as_tensor(self.weights, dtype=s.dtype, device=s.device)
        x = s @ w - self.strike
        return (x if self.kind == "call" else -x).clamp_min(0)


@dataclass(frozen=True)
class Portfolio:
    """A netting set of trades with one counterparty."""

    trades: tuple[Trade, ...]

    def __post_init__(self) -> None:
        trades = tuple(self.trades)
        if not trades:
            raise InputError("a portfolio needs at least one trade")
        for tr in trades:
            if not isinstance(tr, Trade):
                raise InputTypeError(f"portfolio entries must be trades, got {type(tr).__name__}")
        object.__setattr__(self, "trades", trades)

    @property
    def maturity(self) -> float:
        return max(t.maturity for t in self.trades)

    def check_assets(self, n_assets: int) -> None:
        for tr in self.trades:
            tr.check_assets(n_assets)

    @property
    def has_closed_form(self) -> bool:
        return all(type(t).unit_value is not Trade.unit_value for t in self.trades)

    def value(self, t, s: torch.Tensor, rate: float, vols) -> torch.Tensor | None:
        """Closed-form netting-set value at ``t`` (trades that matured count 0), or ``None``; shapes
        as :meth:`Trade.value`."""
        total = torch.zeros(s.shape[:-1], dtype=s.dtype, device=s.device)
        for tr in self.trades:
            v = tr.value(t, s, rate, vols)
            if v is None:
                return None
            total = total + v
        return total
