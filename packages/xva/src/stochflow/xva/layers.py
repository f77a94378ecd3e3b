"""Multi-layer xVA (after Andersson & Gnoatto, 2025), solved one layer after another on shared paths.

(i) Clean values ``V`` of the netting set along paths, by closed form or by the deep BSDE
    ``-dV = -rV dt - Z dW`` with the trades' cash flows (its ``Y`` rolled forward along the paths;
    at the last date the payoff itself).
(ii) Initial margin as conditional quantiles of the value change over the margin period of risk
    ``δ`` (pinball-loss regression of ``V_{t+δ} - V_t`` on ``(t, S_t)``): received
    ``IM^C = q_α^+``, posted ``IM^B = (-q_{1-α})^+``; variation margin ``C_t = VM(V_{t-δ})``; and
    ``ColVA = E Σ D(t_n)(r_c - r) C_n 1{t_n < τ} Δt``.
(iii) Close-out at the first default ``τ = τ_B ∧ τ_C`` on the grid:
    ``CVA = E[D(τ)(1 - R_C)(V_τ - C_τ - IM^C_τ)^+ 1{τ_C ≤ τ_B, τ ≤ T}]``,
    ``DVA = E[D(τ)(1 - R_B)(C_τ - V_τ - IM^B_τ)^+ 1{τ_B < τ_C, τ ≤ T}]``,
    ``MVA = E Σ D(t_n)(r_fb - r) IM^B_n 1{t_n < τ} Δt``.
(iv) FVA as the recursive BSDE stopped at ``τ``:
    ``-dF = [-rF + (r_fb - r)(V - C - F)^+ - (r_fl - r)(V - C - F)^-] dt - Z dW``, ``F_{τ∧T} = 0``.
    (Here ``XVA`` in the funding amount ``V - C - XVA`` is the FVA itself; the other adjustments
    are not funded.)

Measure change: for the close-out terms (CVA, DVA) the firms' Brownian coordinates are simulated
under ``Q^θ`` with a constant tilt ``θ`` that drives their asset values towards the barriers (more
defaults in the sample); each term carries the weight ``dQ/dQ^θ`` at the close-out time, so prices
are unchanged and only their variance moves. A BSDE solved under ``Q^θ`` gains the Girsanov term
``-Z·θ`` in its driver (:class:`~stochflow.xva.bsde.BSDE` with ``theta``). The running-cost
layers (ColVA, MVA, FVA) and the exposure profile are estimated under ``Q`` itself: they need the
surviving paths, whose weights a default-boosting tilt inflates.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from stochflow.core import distributed as D
from stochflow.core.errors import InputError, InputTypeError
from stochflow.core.seeding import derive_seed
from stochflow.xva.bsde import BSDEProblem
from stochflow.xva.credit import ExponentialDefault, StructuralFirm, exponential_steps, first_passage_steps
from stochflow.xva.exposure import Estimate, ExposureProfile, exposure_profile, mc_estimate
from stochflow.xva.forward import ForwardPaths, time_grid
from stochflow.xva.market import CSA, Market, Settings
from stochflow.xva.networks import Standardize, TimeStateNet
from stochflow.xva.noise import generator
from stochflow.xva.products import Portfolio
from stochflow.xva.solver import BSDEResult, DeepBSDESolver, resolve_dtype

METRICS = ("clean", "cva", "dva", "colva", "mva", "fva")


class CleanValueProblem(BSDEProblem):
    """Layer (i): the netting set's clean value, ``-dV = -rV dt - Z·dW`` on the assets alone,
    trades' payoffs paid as cash flows at their maturities (on the grid)."""

    def __init__(self, portfolio: Portfolio, market: Market, n_steps: int):
        self.portfolio, self.market = portfolio, market
        self.maturity = portfolio.maturity
        self.n_steps = n_steps
        self.dim = self.noise_dim = market.n_assets
        self.pay_steps = maturity_steps(portfolio, n_steps)
        self.model = market.asset_factors()

    def sample(self, batch, *, seed, dtype, device, keys=()):
        return self.model.sample(self.grid(dtype, device), batch, seed=seed, keys=("clean", *keys))

    def driver(self, n, t, x, y, z, paths):
        return -self.market.rate * y

    def payments(self, n: int, s: torch.Tensor) -> torch.Tensor | None:
        due = [tr for tr, k in zip(self.portfolio.trades, self.pay_steps) if k == n]
        if not due:
            return None
        return sum(tr.payoff(s) for tr in due)

    def cashflow(self, n, paths):
        return None if n == self.n_steps else self.payments(n, paths.x[n])

    def terminal(self, paths):
        pay = self.payments(self.n_steps, paths.x[-1])
        return torch.zeros(paths.batch, dtype=paths.x.dtype, device=paths.x.device) if pay is None else pay


class FundingProblem(BSDEProblem):
    """Layer (iv): the FVA BSDE on the full state (assets and firms), stopped at the first default,
    with the earlier layers' ``V`` and ``C`` along the same paths."""

    def __init__(self, pipeline: XvaPipeline):
        self.pipeline = pipeline
        self.maturity = pipeline.maturity
        self.n_steps = pipeline.settings.n_steps
        self.dim = self.noise_dim = pipeline.market.state_dim

    def sample(self, batch, *, seed, dtype, device, keys=()):
        return self.pipeline.simulate(batch, seed=seed, keys=("fva", *keys), tilted=False)

    def driver(self, n, t, x, y, z, paths):
        m = self.pipeline.market
        need = paths.aux["V"][n] - paths.aux["C"][n] - y
        return -m.rate * y + (m.borrow_rate - m.rate) * need.clamp_min(0) - (m.lend_rate - m.rate) * (-need).clamp_min(0)

    def terminal(self, paths):
        return torch.zeros(paths.batch, dtype=paths.x.dtype, device=paths.x.device)

    def active(self, paths):
        steps = torch.arange(self.n_steps, device=paths.x.device)[:, None]
        return (steps < paths.aux["default_step"][None, :]).to(paths.x.dtype)


def maturity_steps(portfolio: Portfolio, n_steps: int) -> list[int]:
    """Grid index of each trade's maturity; every maturity must lie on the grid."""
    dt = portfolio.maturity / n_steps
    steps = []
    for tr in portfolio.trades:
        k = round(tr.maturity / dt)
        if abs(k * dt - tr.maturity) > 1e-9 * max(1.0, portfolio.maturity):
            raise InputError(f"{tr.label}: maturity {tr.maturity} does not lie on the grid of {n_steps} steps up to "
                             f"{portfolio.maturity}; choose n_steps so that every maturity is a multiple of T/n_steps")
        steps.append(k)
    return steps


def pinball(u: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Mean pinball (quantile) loss ``u (α - 1{u < 0})`` of residuals ``u`` (``(..., k)``) at ``levels`` (``k``)."""
    return (u * (levels - (u < 0).to(u.dtype))).mean()


@dataclass(frozen=True)
class XvaResult:
    """The adjustments, the exposure profile and the diagnostics of each layer.

    Signs: every adjustment is a cost to the bank except DVA, a benefit; the value to the bank is
    ``clean - CVA + DVA - ColVA - MVA - FVA``.
    """

    clean: Estimate
    cva: Estimate
    dva: Estimate
    colva: Estimate
    mva: Estimate
    fva: Estimate | None
    clean_closed_form: float | None
    profile: ExposureProfile
    default_probability: dict
    diagnostics: dict = field(default_factory=dict)

    @property
    def total(self) -> float:
        fva = self.fva.value if self.fva is not None else 0.0
        return self.clean.value - self.cva.value + self.dva.value - self.colva.value - self.mva.value - fva

    def rows(self) -> list[tuple[str, Estimate | None]]:
        return [("clean value", self.clean), ("CVA", self.cva), ("DVA", self.dva), ("ColVA", self.colva),
                ("MVA", self.mva), ("FVA", self.fva)]

    def table(self) -> str:
        """A plain-text table of the adjustments with 95% confidence intervals where they apply."""
        lines = [f"{'metric':<12} {'value':>12} {'95% CI':>27}  method", "-" * 72]
        for name, est in self.rows():
            if est is None:
                lines.append(f"{name:<12} {'-':>12} {'':>27}  skipped")
                continue
            ci = f"[{est.ci95[0]:.6g}, {est.ci95[1]:.6g}]" if est.ci95 else ""
            lines.append(f"{name:<12} {est.value:>12.6g} {ci:>27}  {est.method}")
        check = self.diagnostics.get("fva_first_order")
        if check is not None and self.fva is not None:
            lo, hi = check["ci95"]
            lines.append(f"{'  check':<12} {check['value']:>12.6g} {f'[{lo:.6g}, {hi:.6g}]':>27}  "
                         "FVA to first order in the spreads, monte carlo")
        if self.clean_closed_form is not None:
            lines.append(f"{'(closed form clean value: ' + format(self.clean_closed_form, '.6g') + ')'}")
        lines.append(f"{'value to bank':<12} {self.total:>12.6g}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        out = {name: (getattr(self, name).to_dict() if getattr(self, name) is not None else None) for name in METRICS}
        out.update(clean_closed_form=self.clean_closed_form, total=self.total, profile=self.profile.to_dict(),
                   default_probability=self.default_probability, diagnostics=self.diagnostics)
        return out


class XvaPipeline:
    """Price a netting set's xVA layer by layer.

    Parameters
    ----------
    portfolio : Portfolio
    market : Market
    csa : CSA, optional
    settings : Settings, optional

    Examples
    --------
    >>> from stochflow.xva import Forward, Portfolio, Market, ExponentialDefault, Settings, XvaPipeline
    >>> market = Market(rate=0.0, spot=[100.0], vol=[0.25], counterparty=ExponentialDefault(0.1, 0.3))
    >>> result = XvaPipeline(Portfolio([Forward(maturity=1.0, strike=100.0)]), market,
    ...                      settings=Settings(n_steps=20, n_paths=2000, fva="none")).run()
    >>> 0.2 < result.cva.value < 0.7
    True
    """

    def __init__(self, portfolio: Portfolio, market: Market, csa: CSA | None = None, settings: Settings | None = None):
        for name, value, cls in (("portfolio", portfolio, Portfolio), ("market", market, Market),
                                 ("csa", csa or CSA(), CSA), ("settings", settings or Settings(), Settings)):
            if not isinstance(value, cls):
                raise InputTypeError(f"{name} must be a {cls.__name__}, got {type(value).__name__}")
        self.portfolio, self.market = portfolio, market
        self.csa = csa or CSA()
        self.settings = settings or Settings()
        portfolio.check_assets(market.n_assets)
        self.maturity = portfolio.maturity
        self.clean_problem = CleanValueProblem(portfolio, market, self.settings.n_steps)
        if self.settings.values == "exact" and not portfolio.has_closed_form:
            raise InputError("values = 'exact' needs a closed form for every trade; a basket has none: use 'bsde'")
        self.use_bsde_values = self.settings.values == "bsde" or not portfolio.has_closed_form
        self.dtype = resolve_dtype(self.settings.dtype)
        self.device = torch.device(self.settings.device)
        dt = self.maturity / self.settings.n_steps
        self.lag = int(round(self.csa.mpor / dt))
        if self.csa.initial_margin and self.lag < 1:
            raise InputError(f"the margin period of risk ({self.csa.mpor}) is shorter than half a time step "
                             f"({dt}); raise n_steps to model initial margin")
        self.theta = None
        if self.settings.measure_change and market.structural:
            self.theta = market.default_boosting_tilt(self.maturity)
        self.clean_result: BSDEResult | None = None
        self.im_net: TimeStateNet | None = None
        self.fva_result: BSDEResult | None = None

    # -- paths ----------------------------------------------------------------------------------

    def grid(self) -> torch.Tensor:
        return time_grid(self.maturity, self.settings.n_steps, dtype=self.dtype, device=self.device)

    def simulate(self, batch: int, *, seed: int, keys: tuple = (), tilted: bool = True) -> ForwardPaths:
        """Paths of the full state under the simulation measure with every layer fitted so far:
        ``aux`` holds ``V`` (clean value, cum cash flow), ``C`` (variation margin), ``IMR``/``IMP``
        (initial margin received/posted), ``default_step`` (first default's grid index, ``N + 1`` if
        none) and ``cpty_first`` (whether the counterparty defaults first). ``tilted``: under ``Q^θ``
        (when the settings ask for the measure change) or under ``Q``."""
        t = self.grid()
        n = self.settings.n_steps
        d = self.market.n_assets
        theta = self.theta if tilted else None
        paths = self.market.factors().sample(t, batch, seed=seed, theta=theta,
                                             keys=("state", "tilted" if theta is not None else "q", *keys))
        s = paths.x[..., :d]
        values = self.clean_values(t, s, paths.dw[..., :d])
        hold = values[torch.clamp(torch.arange(n + 1, device=t.device) - self.lag, min=0)]
        h = self.csa.threshold
        vm = torch.zeros_like(hold) if math.isinf(h) else (hold - h).clamp_min(0) - (-hold - h).clamp_min(0)
        steps = {}
        for name in ("bank", "counterparty"):
            model = getattr(self.market, name)
            if isinstance(model, StructuralFirm):
                col = self.market.firm_column(name)
                steps[name] = first_passage_steps(paths.x[..., col], model.barrier, model.vol, t, seed=seed,
                                                  keys=(name, *keys))
            elif isinstance(model, ExponentialDefault):
                steps[name] = exponential_steps(model.intensity, t, batch, seed=seed, keys=(name, *keys))
            else:
                steps[name] = torch.full((batch,), n + 1, dtype=torch.int64, device=t.device)
        first = torch.minimum(steps["bank"], steps["counterparty"])
        imr, imp = self.initial_margins(t, s)
        paths.aux.update(V=values, C=vm, IMR=imr, IMP=imp, default_step=first,
                         cpty_first=steps["counterparty"] <= steps["bank"],
                         bank_step=steps["bank"], cpty_step=steps["counterparty"])
        return paths

    def clean_values(self, t: torch.Tensor, s: torch.Tensor, dw: torch.Tensor) -> torch.Tensor:
        """Layer (i) along paths: closed form, or the trained deep BSDE's ``Y`` (plus cash flows due)."""
        if not self.use_bsde_values:
            return self.portfolio.value(t[:, None], s, self.market.rate, self.market.vol)
        if self.clean_result is None:
            raise RuntimeError("layer (i) is not trained yet")
        paths = ForwardPaths(t=t, x=s, dw=dw)
        ys, _ = self.clean_result.rollout(self.clean_problem, paths)
        out = ys.clone()
        for k in range(1, t.shape[0] - 1):
            cash = self.clean_problem.payments(k, s[k])
            if cash is not None:
                out[k] = out[k] + cash
        # at the last date the value is the payoff itself, known exactly; the rollout's Y_N would add
        # the BSDE's terminal residual (its error indicator) to the close-outs in the last step
        out[-1] = self.clean_problem.terminal(paths)
        return out

    def initial_margins(self, t: torch.Tensor, s: torch.Tensor):
        zeros = torch.zeros(s.shape[:2], dtype=s.dtype, device=s.device)
        if self.im_net is None:
            return zeros, zeros
        with torch.no_grad():
            q = self.im_net(t, s)
        return q[..., 0].clamp_min(0), (-q[..., 1]).clamp_min(0)

    # -- layers ---------------------------------------------------------------------------------

    def fit_clean(self) -> BSDEResult:
        """Layer (i) by the deep BSDE."""
        opts = dict(iterations=1500, batch_size=256, dtype=self.settings.dtype, device=self.settings.device,
                    seed=self.settings.seed)
        opts.update(self.settings.bsde)
        self.clean_result = DeepBSDESolver(**opts).solve(self.clean_problem)
        return self.clean_result

    def fit_initial_margin(self, n_paths: int = 2048, batch: int = 256) -> TimeStateNet:
        """Layer (ii): conditional quantiles ``α`` and ``1 - α`` of ``V_{t+δ} - V_t`` given ``(t, S_t)``."""
        n = self.settings.n_steps
        paths = self.simulate(n_paths, seed=self.settings.seed, keys=("im",), tilted=False)
        t, s, v = paths.t, paths.x[..., : self.market.n_assets], paths.aux["V"]
        ahead = torch.clamp(torch.arange(n + 1, device=t.device) + self.lag, max=n)
        dv = (v[ahead] - v)[:-1]  # (N, P)
        alpha = self.csa.im_quantile
        levels = torch.tensor([alpha, 1 - alpha], dtype=s.dtype, device=s.device)
        flat = s.reshape(-1, s.shape[-1])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.settings.seed)
            net = TimeStateNet(s.shape[-1], 2, self.maturity, Standardize(flat.mean(0), flat.std(0)), 32, 2)
        net = net.to(dtype=s.dtype, device=s.device)
        with torch.no_grad():
            net.net[-1].bias.copy_(torch.quantile(dv.reshape(-1), levels))
            net.net[-1].weight.mul_(float(dv.std()))
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, [int(0.6 * self.settings.im_iterations),
                                                           int(0.85 * self.settings.im_iterations)], 0.2)
        gen = generator(self.settings.seed, "cpu", "im-batches")
        for _ in range(self.settings.im_iterations):
            idx = torch.randint(0, n_paths, (batch,), generator=gen).to(s.device)
            q = net(t[:-1], s[:-1, idx])
            loss = pinball(dv[:, idx, None] - q, levels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        self.im_net = net.eval()
        return net

    def fit_funding(self) -> BSDEResult:
        """Layer (iv): the recursive FVA BSDE."""
        opts = dict(iterations=800, batch_size=256, dtype=self.settings.dtype, device=self.settings.device,
                    seed=self.settings.seed, y0_init=0.0)
        opts.update(self.settings.bsde)
        self.fva_result = DeepBSDESolver(**opts).solve(FundingProblem(self))
        return self.fva_result

    # -- the run --------------------------------------------------------------------------------

    def run(self) -> XvaResult:
        """Fit the layers in order and estimate every adjustment on ``n_paths`` fresh paths (under
        ``torchrun``: on every rank, each with its share of the work)."""
        D.init_from_env()
        timings = {}
        tic = time.perf_counter()
        if self.use_bsde_values:
            self.fit_clean()
        timings["clean"] = time.perf_counter() - tic
        tic = time.perf_counter()
        if self.csa.initial_margin:
            self.fit_initial_margin()
        timings["initial_margin"] = time.perf_counter() - tic
        tic = time.perf_counter()
        estimates = self.reduce(self.monte_carlo(tilted=False))
        fva_check = estimates.pop("fva_first_order")
        if self.theta is not None:
            tilted = self.reduce(self.monte_carlo(tilted=True))
            estimates.update({k: v for k, v in tilted.items() if k in ("cva", "dva", "default_probability")})
        timings["monte_carlo"] = time.perf_counter() - tic
        tic = time.perf_counter()
        fva = None
        if self.settings.fva == "bsde":
            res = self.fit_funding()
            fva = Estimate(res.y0, None, "deep BSDE")
        timings["fva"] = time.perf_counter() - tic
        diagnostics = {"seconds": timings, "theta": None if self.theta is None else self.theta.tolist(),
                       "mpor_steps": self.lag, "fva_first_order": fva_check.to_dict()}
        for name, res in (("clean_bsde", self.clean_result), ("fva_bsde", self.fva_result)):
            if res is not None:
                diagnostics[name] = {"y0": res.y0, "error_indicator": res.error_indicator,
                                     "final_loss": float(res.loss_history[-1]), "iterations": res.iterations}
        s0 = torch.as_tensor(self.market.spot, dtype=self.dtype, device=self.device)[None]
        closed = self.portfolio.value(0.0, s0, self.market.rate, self.market.vol)
        return XvaResult(clean_closed_form=None if closed is None else float(closed[0]), fva=fva,
                         diagnostics=diagnostics, **estimates)

    def monte_carlo(self, *, tilted: bool) -> dict[str, torch.Tensor]:
        """Per-path samples (:meth:`path_samples`) on ``n_paths`` fresh paths: in one draw, or, with
        ``settings.mc_block_size``, in blocks shared out over the ranks of a process group and
        gathered in block order (on the CPU), so every rank holds the same samples on any number of
        ranks."""
        st = self.settings
        if st.mc_block_size is None:
            return self.path_samples(self.simulate(st.n_paths, seed=st.seed, keys=("main",), tilted=tilted))

        def block(b: int, start: int, stop: int) -> dict[str, torch.Tensor]:
            paths = self.simulate(stop - start, seed=derive_seed(st.seed, "block", b), keys=("main",), tilted=tilted)
            return {k: v.cpu() for k, v in self.path_samples(paths).items()}

        parts = D.gather_blocks(block, st.n_paths, block_size=st.mc_block_size)
        return {k: torch.cat([part[k] for part in parts], dim=-1) for k in parts[0]}

    def estimate(self, paths: ForwardPaths) -> dict:
        """Monte Carlo estimates of layers (i)-(iii) and the exposure profile on ``paths``."""
        return self.reduce(self.path_samples(paths))

    def path_samples(self, paths: ForwardPaths) -> dict[str, torch.Tensor]:
        """What each path contributes to the estimates: its discounted, weighted CVA, DVA, ColVA,
        MVA and first-order FVA terms, its clean value at 0 and default indicators (shape ``(B,)``),
        and its exposure ``V - C`` on the grid (``(N + 1, B)``)."""
        m = self.market
        t, aux = paths.t, paths.aux
        n = self.settings.n_steps
        dt = float(self.maturity / n)
        v, c, imr, imp = aux["V"], aux["C"], aux["IMR"], aux["IMP"]
        disc = torch.exp(-m.rate * t)[:, None]
        weight = paths.density()
        first = aux["default_step"]
        at = first.clamp_max(n)[None]
        pick = lambda a: a.gather(0, at)[0]
        defaulted = first <= n
        w_tau, d_tau = pick(weight), torch.exp(-m.rate * t[at[0]])
        cpty = defaulted & aux["cpty_first"]
        bank = defaulted & ~aux["cpty_first"]
        rec = lambda model: model.recovery if model is not None else 1.0
        exposure = pick(v) - pick(c)
        out = {"clean": v[0], "exposure": v - c}
        out["cva"] = w_tau * d_tau * (1 - rec(m.counterparty)) * (exposure - pick(imr)).clamp_min(0) * cpty
        out["dva"] = w_tau * d_tau * (1 - rec(m.bank)) * (-exposure - pick(imp)).clamp_min(0) * bank
        alive = (torch.arange(n, device=t.device)[:, None] < first[None]).to(v.dtype)
        running = (disc * weight)[:-1] * alive * dt
        out["colva"] = ((m.collateral_rate - m.rate) * c[:-1] * running).sum(0)
        out["mva"] = ((m.borrow_rate - m.rate) * imp[:-1] * running).sum(0)
        for name, key in (("bank", "bank_step"), ("counterparty", "cpty_step")):
            step = aux[key]
            out[f"default_{name}"] = (step <= n).to(v.dtype) * weight.gather(0, step.clamp_max(n)[None])[0]
        # FVA to first order in the funding spreads (F neglected inside the funding amount): a check
        # on the BSDE; exact for symmetric rates when discounted at the funding rate
        need = (v - c)[:-1]
        spread = (m.borrow_rate - m.rate) * need.clamp_min(0) - (m.lend_rate - m.rate) * (-need).clamp_min(0)
        fund_disc = disc[:-1] if m.borrow_rate != m.lend_rate else torch.exp(-m.borrow_rate * t[:-1])[:, None]
        out["fva_first_order"] = (fund_disc * weight[:-1] * alive * dt * spread).sum(0)
        return out

    def reduce(self, samples: dict[str, torch.Tensor]) -> dict:
        """The estimates from per-path samples (means with standard errors, the exposure profile)."""
        t = self.grid().to(samples["exposure"].device)
        clean = Estimate(float(samples["clean"].mean()), None, "deep BSDE" if self.use_bsde_values else "closed form")
        surv = {name: float(samples[f"default_{name}"].mean()) for name in ("bank", "counterparty")}
        profile = exposure_profile(t, samples["exposure"], self.market.rate, pfe_quantile=self.settings.pfe_quantile)
        return dict(clean=clean, cva=mc_estimate(samples["cva"]), dva=mc_estimate(samples["dva"]),
                    colva=mc_estimate(samples["colva"]), mva=mc_estimate(samples["mva"]), profile=profile,
                    default_probability=surv,
                    fva_first_order=mc_estimate(samples["fva_first_order"], "monte carlo, first order"))


def price_xva(portfolio: Portfolio, market: Market, csa: CSA | None = None,
              settings: Settings | None = None) -> XvaResult:
    """``XvaPipeline(portfolio, market, csa, settings).run()``."""
    return XvaPipeline(portfolio, market, csa, settings).run()
