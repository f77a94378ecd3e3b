"""The market of an xVA computation: correlated Black–Scholes assets, the credit models of the bank
and the counterparty, funding and collateral rates, and the collateral agreement (CSA).

State ordering: the ``d`` assets first, then the asset values of the structural firms (bank, then
counterparty, where structural). Correlations are given over that whole state; the lower-triangular
Cholesky factor keeps the assets driven by the first ``d`` independent Brownian coordinates only, so
a tilt of the firms' coordinates (the measure change) leaves the market factors' law untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from stochflow.core.errors import InputError, InputTypeError
from stochflow.xva import checks
from stochflow.xva.credit import ExponentialDefault, StructuralFirm
from stochflow.xva.forward import CorrelatedGBM

CreditModel = StructuralFirm | ExponentialDefault | None


@dataclass(frozen=True)
class Market:
    """Assets, credit and rates.

    Parameters
    ----------
    rate : float
        Risk-free short rate ``r``.
    spot, vol : sequence of float
        Asset spots (> 0) and volatilities (>= 0).
    corr : array-like, optional
        Correlation over assets then structural firms (identity by default); positive semi-definite.
    bank, counterparty : StructuralFirm, ExponentialDefault or None
        Credit models (``None``: default-free).
    borrow_rate, lend_rate : float, optional
        Unsecured funding rates ``r_fb`` (borrowing) and ``r_fl`` (lending); default ``r``.
    collateral_rate : float, optional
        Rate paid on variation margin ``r_c``; default ``r``.
    asset_names : sequence of str, optional
    """

    rate: float
    spot: tuple
    vol: tuple
    corr: object = None
    bank: CreditModel = None
    counterparty: CreditModel = None
    borrow_rate: float | None = None
    lend_rate: float | None = None
    collateral_rate: float | None = None
    asset_names: tuple = ()

    def __post_init__(self) -> None:
        checks.as_float("rate", self.rate)
        spot = checks.vector("spot", self.spot)
        if np.any(spot <= 0):
            raise InputError(f"asset spots must be > 0, got {spot.tolist()}")
        vol = checks.vector("vol", self.vol, spot.shape[0])
        for i, v in enumerate(vol):
            checks.volatility(f"vol of asset {i}", float(v))
        object.__setattr__(self, "spot", tuple(spot.tolist()))
        object.__setattr__(self, "vol", tuple(vol.tolist()))
        for name in ("bank", "counterparty"):
            model = getattr(self, name)
            if model is not None and not isinstance(model, (StructuralFirm, ExponentialDefault)):
                raise InputTypeError(f"{name} must be a StructuralFirm, an ExponentialDefault or None, "
                                     f"got {type(model).__name__}")
        n = self.state_dim
        corr = np.eye(n) if self.corr is None else checks.correlation("corr", self.corr, n)
        object.__setattr__(self, "corr", corr)
        for name in ("borrow_rate", "lend_rate", "collateral_rate"):
            value = getattr(self, name)
            object.__setattr__(self, name, float(self.rate) if value is None else checks.as_float(name, value))
        names = tuple(self.asset_names) or tuple(f"asset{i}" for i in range(self.n_assets))
        if len(names) != self.n_assets:
            raise InputError(f"asset_names has {len(names)} names for {self.n_assets} assets")
        object.__setattr__(self, "asset_names", names)

    @property
    def n_assets(self) -> int:
        return len(self.spot)

    @property
    def structural(self) -> list[str]:
        """Names of the structural firms in state order."""
        return [n for n in ("bank", "counterparty") if isinstance(getattr(self, n), StructuralFirm)]

    @property
    def state_dim(self) -> int:
        return self.n_assets + len(self.structural)

    def firm_column(self, name: str) -> int:
        """Column of firm ``name``'s asset value in the state."""
        return self.n_assets + self.structural.index(name)

    def factors(self) -> CorrelatedGBM:
        """All factors (assets, then structural firms' asset values) as one correlated GBM."""
        firms = [getattr(self, n) for n in self.structural]
        spot = list(self.spot) + [f.value for f in firms]
        vol = list(self.vol) + [f.vol for f in firms]
        drift = [self.rate] * self.n_assets + [f.mu(self.rate) for f in firms]
        return CorrelatedGBM(spot, vol, drift, self.corr, names=[*self.asset_names, *self.structural])

    def asset_factors(self) -> CorrelatedGBM:
        """The assets alone (their correlation block)."""
        d = self.n_assets
        return CorrelatedGBM(list(self.spot), list(self.vol), [self.rate] * d, self.corr[:d, :d],
                             names=list(self.asset_names))

    def default_boosting_tilt(self, horizon: float, rare: float = 0.05) -> np.ndarray:
        """A constant Girsanov tilt ``θ`` of the independent Brownian coordinates that moves the
        log-asset drift of each structural firm whose default probability by ``horizon`` is below
        ``rare`` down to ``-ln(A_0/b)/horizon`` (a typical path then reaches the barrier by the
        horizon); zero on the assets' coordinates and for firms whose defaults are not rare (there
        a tilt only adds weight variance)."""
        from stochflow.xva.closed_forms import first_passage_survival

        checks.maturity("horizon", horizon)
        model = self.factors()
        theta = np.zeros(self.state_dim)
        d = self.n_assets
        for k, name in enumerate(self.structural):
            firm = getattr(self, name)
            col = d + k
            log_drift = firm.mu(self.rate) - 0.5 * firm.vol**2
            if 1 - first_passage_survival(horizon, firm.value, firm.barrier, log_drift, firm.vol) >= rare:
                continue
            target = -firm.distance() / horizon
            shift = min(target - log_drift, 0.0)  # only ever boost defaults
            # the firm's Brownian motion is Σ_j chol[col, j] B_j; solve row by row (lower triangular)
            already = float(model.chol[col, :col] @ theta[:col])
            theta[col] = (shift / firm.vol - already) / model.chol[col, col]
        return theta


@dataclass(frozen=True)
class CSA:
    """Collateral agreement.

    Parameters
    ----------
    threshold : float
        Variation margin ``C = (V - H)^+ - (-V - H)^+`` exchanged above the threshold ``H``;
        ``math.inf`` (default) means no variation margin, 0 full collateralisation.
    mpor : float
        Margin period of risk in years (default 10 business days); collateral at close-out is the
        one called one MPoR earlier.
    initial_margin : bool
        Whether both parties post initial margin (segregated) as a quantile of the value change over
        the MPoR.
    im_quantile : float
        Quantile level of the initial margin (default 0.99).
    """

    threshold: float = math.inf
    mpor: float = 10 / 250
    initial_margin: bool = False
    im_quantile: float = 0.99

    def __post_init__(self) -> None:
        if not (isinstance(self.threshold, (int, float)) and not isinstance(self.threshold, bool)):
            raise InputTypeError(f"threshold must be a number, got {type(self.threshold).__name__}")
        if self.threshold < 0 or math.isnan(self.threshold):
            raise InputError(f"threshold must be >= 0 (math.inf for no variation margin), got {self.threshold}")
        checks.positive("mpor", self.mpor, allow_zero=True)
        if not isinstance(self.initial_margin, bool):
            raise InputTypeError(f"initial_margin must be true or false, got {self.initial_margin!r}")
        checks.probability_level("im_quantile", self.im_quantile)


@dataclass(frozen=True)
class Settings:
    """Numerical settings of the multi-layer computation.

    Parameters
    ----------
    n_steps : int
        Time steps up to the portfolio's last maturity (each maturity must lie on the grid).
    n_paths : int
        Monte Carlo paths for CVA, DVA, ColVA, MVA and exposures.
    values : {"auto", "exact", "bsde"}
        Clean values along paths by closed form ("exact", when every trade has one) or by the deep
        BSDE; "auto" takes the closed form where it exists.
    fva : {"bsde", "none"}
        FVA by the recursive deep BSDE, or skipped.
    measure_change : bool
        Simulate defaults under a tilted measure that boosts them, with the Girsanov weights.
    bsde : dict
        Keyword arguments of :class:`~stochflow.xva.solver.DeepBSDESolver` for the BSDE layers.
    im_iterations : int
        Adam steps of the initial-margin quantile regression.
    pfe_quantile : float
    seed : int
    dtype, device
    mc_block_size : int, optional
        Paths per Monte Carlo block. ``None`` draws all ``n_paths`` in one go (every rank of a
        process group computes the same estimates). An int cuts them into blocks, block ``b``
        drawn from its own seed: under ``torchrun`` the ranks share the blocks out and gather the
        per-path results, so 1 or N processes give exactly the same estimates for one setting.
    """

    n_steps: int = 50
    n_paths: int = 20_000
    values: str = "auto"
    fva: str = "bsde"
    measure_change: bool = True
    bsde: dict = field(default_factory=dict)
    im_iterations: int = 400
    pfe_quantile: float = 0.975
    seed: int = 0
    dtype: str = "float64"
    device: str = "cpu"
    mc_block_size: int | None = None

    def __post_init__(self) -> None:
        checks.count("n_steps", self.n_steps)
        checks.count("n_paths", self.n_paths, minimum=2)
        if self.values not in ("auto", "exact", "bsde"):
            raise InputError(f"values must be 'auto', 'exact' or 'bsde', got {self.values!r}")
        if self.fva not in ("bsde", "none"):
            raise InputError(f"fva must be 'bsde' or 'none', got {self.fva!r}")
        if not isinstance(self.measure_change, bool):
            raise InputTypeError(f"measure_change must be true or false, got {self.measure_change!r}")
        if not isinstance(self.bsde, dict):
            raise InputTypeError(f"bsde must be a table of solver settings, got {type(self.bsde).__name__}")
        checks.count("im_iterations", self.im_iterations)
        checks.probability_level("pfe_quantile", self.pfe_quantile)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise InputTypeError(f"seed must be an int, got {self.seed!r}")
        if self.mc_block_size is not None:
            checks.count("mc_block_size", self.mc_block_size)
        if self.dtype not in ("float32", "float64"):
            raise InputError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        import torch

        try:
            torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise InputError(f"device must be a torch device such as 'cpu' or 'cuda', got {self.device!r}") from exc
