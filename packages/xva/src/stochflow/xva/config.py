"""Portfolio and market from a TOML file.

Layout (see ``stochflow/xva/examples/portfolio.toml``)::

    [market]            rate, borrow_rate, lend_rate, collateral_rate
    [[market.assets]]   name, spot, vol
    [market.bank]       model = "structural" (value, barrier, vol, recovery, drift)
    [market.counterparty]        or "exponential" (intensity, recovery) or "none"
    [market.correlation] pairs = [["A", "B", 0.3], ...]  or  matrix = [[...]]
                        (names: assets, then "bank"/"counterparty" where structural)
    [csa]               threshold, mpor_days, initial_margin, im_quantile
    [settings]          n_steps, n_paths, values, fva, measure_change, im_iterations, pfe_quantile,
                        seed, dtype, device, mc_block_size; [settings.bsde] solver options
    [[trades]]          type = "forward" | "call" | "put" | "basket_call" | "basket_put",
                        name, underlying (asset name), weights (baskets: {name = weight}), strike,
                        maturity, notional

Unknown keys raise :class:`~stochflow.core.errors.InputError` naming the key and its line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tomllib

from stochflow.core.errors import InputError, InputTypeError
from stochflow.xva.credit import ExponentialDefault, StructuralFirm
from stochflow.xva.market import CSA, Market, Settings
from stochflow.xva.products import BasketOption, EuropeanOption, Forward, Portfolio

_TOP = {"market", "csa", "settings", "trades"}
_MARKET = {"rate", "borrow_rate", "lend_rate", "collateral_rate", "assets", "bank", "counterparty", "correlation"}
_ASSET = {"name", "spot", "vol"}
_STRUCTURAL = {"model", "value", "barrier", "vol", "recovery", "drift"}
_EXPONENTIAL = {"model", "intensity", "recovery"}
_CORRELATION = {"pairs", "matrix"}
_CSA = {"threshold", "mpor_days", "initial_margin", "im_quantile"}
_SETTINGS = {"n_steps", "n_paths", "values", "fva", "measure_change", "im_iterations", "pfe_quantile", "seed",
             "dtype", "device", "mc_block_size", "bsde"}
_BSDE = {"network", "width", "depth", "iterations", "batch_size", "learning_rate", "lr_decay", "lr_milestones",
         "valid_size", "seed"}
_TRADE = {"type", "name", "underlying", "weights", "strike", "maturity", "notional"}
TRADE_TYPES = ("forward", "call", "put", "basket_call", "basket_put")


@dataclass(frozen=True)
class XvaConfig:
    """What a TOML file describes."""

    portfolio: Portfolio
    market: Market
    csa: CSA
    settings: Settings


def example_path() -> Path:
    """The example portfolio shipped with the package."""
    return Path(__file__).parent / "examples" / "portfolio.toml"


class _Locator:
    """Finds the line of a key in TOML text (tomllib reports no positions for valid files)."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"']+)\s*=")

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def line_of(self, path: tuple) -> int | None:
        """1-based line of ``path`` (table names, array indices, key), or ``None``."""
        counters: dict[tuple, int] = {}
        current: tuple = ()
        for no, line in enumerate(self.lines, start=1):
            header = self._HEADER.match(line)
            if header:
                names = tuple(part.strip().strip("\"'") for part in header.group(2).split("."))
                if header.group(1) == "[[":
                    counters[names] = counters.get(names, -1) + 1
                    current = names + (counters[names],)
                else:
                    current = ()
                    for k, name in enumerate(names):
                        current += (name,)
                        if names[: k + 1] in counters:
                            current += (counters[names[: k + 1]],)
                if current == tuple(path):
                    return no
                continue
            key = self._KEY.match(line)
            if key and (*current, key.group(1).strip("\"'")) == tuple(path):
                return no
        last = str(path[-1])
        for no, line in enumerate(self.lines, start=1):  # dotted keys or inline tables
            if re.search(rf"(^|[\s{{,.]){re.escape(last)}\s*=", line):
                return no
        return None


class _Reader:
    def __init__(self, text: str, source: str):
        self.locate = _Locator(text)
        self.source = source

    def where(self, path: tuple) -> str:
        line = self.locate.line_of(path)
        return f"{self.source}, line {line}" if line else self.source

    def dotted(self, path: tuple) -> str:
        out = ""
        for p in path:
            out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
        return out

    def fail(self, path: tuple, message: str) -> InputError:
        return InputError(f"{self.where(path)}: {self.dotted(path)}: {message}")

    def table(self, value, path: tuple, allowed: set[str], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a table, got {type(value).__name__}")
        for key in value:
            if key not in allowed:
                import difflib

                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.fail((*path, key), f"unknown key {key!r}{hint}; allowed keys: {', '.join(sorted(allowed))}")
        for key in required:
            if key not in value:
                raise self.fail(path, f"missing required key {key!r}")
        return value

    def call(self, path: tuple, fn, *args, **kwargs):
        """Build an object, prefixing the location to its typed errors."""
        try:
            return fn(*args, **kwargs)
        except (InputError, InputTypeError) as exc:
            raise type(exc)(f"{self.where(path)}: {self.dotted(path)}: {exc}") from exc


def parse_config(text: str, source: str = "<string>") -> XvaConfig:
    """Parse TOML text into portfolio, market, CSA and settings (all validated)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from exc
    rd = _Reader(text, source)
    rd.table(data, (), _TOP, required=("market", "trades"))

    mk = rd.table(data["market"], ("market",), _MARKET, required=("rate", "assets"))
    assets = mk["assets"]
    if not isinstance(assets, list) or not assets:
        raise rd.fail(("market", "assets"), "give at least one [[market.assets]] table")
    names, spots, vols = [], [], []
    for i, a in enumerate(assets):
        rd.table(a, ("market", "assets", i), _ASSET, required=("name", "spot", "vol"))
        if a["name"] in names:
            raise rd.fail(("market", "assets", i, "name"), f"duplicate asset name {a['name']!r}")
        names.append(str(a["name"]))
        spots.append(a["spot"])
        vols.append(a["vol"])

    def credit(which: str):
        if which not in mk:
            return None
        tab = mk[which]
        if not isinstance(tab, dict):
            raise rd.fail(("market", which), "must be a table")
        model = tab.get("model", "structural")
        if model == "none":
            rd.table(tab, ("market", which), {"model"})
            return None
        if model == "structural":
            rd.table(tab, ("market", which), _STRUCTURAL, required=("value", "barrier", "vol"))
            kw = {k: v for k, v in tab.items() if k != "model"}
            return rd.call(("market", which), StructuralFirm, **kw)
        if model == "exponential":
            rd.table(tab, ("market", which), _EXPONENTIAL, required=("intensity",))
            kw = {k: v for k, v in tab.items() if k != "model"}
            return rd.call(("market", which), ExponentialDefault, **kw)
        raise rd.fail(("market", which, "model"), f"model must be 'structural', 'exponential' or 'none', got {model!r}")

    bank, cpty = credit("bank"), credit("counterparty")
    state = names + [n for n, m in (("bank", bank), ("counterparty", cpty)) if isinstance(m, StructuralFirm)]
    corr = np.eye(len(state))
    if "correlation" in mk:
        ct = rd.table(mk["correlation"], ("market", "correlation"), _CORRELATION)
        if "matrix" in ct and "pairs" in ct:
            raise rd.fail(("market", "correlation"), "give either pairs or matrix, not both")
        if "matrix" in ct:
            corr = ct["matrix"]
        for j, pair in enumerate(ct.get("pairs", [])):
            if not (isinstance(pair, list) and len(pair) == 3):
                raise rd.fail(("market", "correlation", "pairs"), f"pair #{j} must be [name, name, rho], got {pair!r}")
            a, b, rho = pair
            for nm in (a, b):
                if nm not in state:
                    raise rd.fail(("market", "correlation", "pairs"),
                                  f"unknown factor {nm!r} in pair #{j}; factors: {', '.join(state)}")
            if not isinstance(rho, (int, float)) or isinstance(rho, bool) or not -1 <= rho <= 1:
                raise rd.fail(("market", "correlation", "pairs"), f"pair #{j}: correlation must lie in [-1, 1]")
            ia, ib = state.index(a), state.index(b)
            if ia == ib:
                raise rd.fail(("market", "correlation", "pairs"), f"pair #{j} correlates {a!r} with itself")
            corr[ia, ib] = corr[ib, ia] = float(rho)
    rates = {k: mk[k] for k in ("borrow_rate", "lend_rate", "collateral_rate") if k in mk}
    market = rd.call(("market",), Market, rate=mk["rate"], spot=spots, vol=vols, corr=corr, bank=bank,
                     counterparty=cpty, asset_names=names, **rates)

    csa = CSA()
    if "csa" in data:
        ct = rd.table(data["csa"], ("csa",), _CSA)
        kw = dict(ct)
        if "mpor_days" in kw:
            days = kw.pop("mpor_days")
            if not isinstance(days, (int, float)) or isinstance(days, bool):
                raise rd.fail(("csa", "mpor_days"), "must be a number of business days")
            kw["mpor"] = days / 250
        if kw.get("threshold") == "none":
            kw["threshold"] = math.inf
        csa = rd.call(("csa",), CSA, **kw)

    settings = Settings()
    if "settings" in data:
        st = rd.table(data["settings"], ("settings",), _SETTINGS)
        kw = dict(st)
        if "bsde" in kw:
            kw["bsde"] = dict(rd.table(kw["bsde"], ("settings", "bsde"), _BSDE))
            if "lr_milestones" in kw["bsde"]:
                kw["bsde"]["lr_milestones"] = tuple(kw["bsde"]["lr_milestones"])
        settings = rd.call(("settings",), Settings, **kw)

    trades_in = data["trades"]
    if not isinstance(trades_in, list) or not trades_in:
        raise rd.fail(("trades",), "give at least one [[trades]] table")
    trades = []
    for i, tr in enumerate(trades_in):
        path = ("trades", i)
        rd.table(tr, path, _TRADE, required=("type", "maturity"))
        kind = tr["type"]
        if kind not in TRADE_TYPES:
            raise rd.fail((*path, "type"), f"unknown trade type {kind!r}; types: {', '.join(TRADE_TYPES)}")
        common = dict(maturity=tr["maturity"], notional=tr.get("notional", 1.0), name=tr.get("name", f"trade{i}"))
        if "strike" in tr:
            common["strike"] = tr["strike"]
        if kind.startswith("basket"):
            weights = tr.get("weights")
            if not isinstance(weights, dict) or not weights:
                raise rd.fail((*path, "weights"), "a basket needs weights = {asset = weight, ...}")
            unknown = [n for n in weights if n not in names]
            if unknown:
                raise rd.fail((*path, "weights"), f"unknown asset {unknown[0]!r}; assets: {', '.join(names)}")
            w = tuple(float(weights.get(n, 0.0)) for n in names)
            trades.append(rd.call(path, BasketOption, weights=w, kind=kind.split("_")[1], **common))
            continue
        if "weights" in tr:
            raise rd.fail((*path, "weights"), f"weights apply to baskets only, not to a {kind}")
        under = tr.get("underlying", names[0] if len(names) == 1 else None)
        if under not in names:
            raise rd.fail((*path, "underlying"), f"underlying must be one of {', '.join(names)}, got {under!r}")
        idx = names.index(under)
        if kind == "forward":
            trades.append(rd.call(path, Forward, underlying=idx, **common))
        else:
            trades.append(rd.call(path, EuropeanOption, underlying=idx, kind=kind, **common))
    portfolio = Portfolio(tuple(trades))
    return XvaConfig(portfolio=portfolio, market=market, csa=csa, settings=settings)


def load_config(path: str | Path) -> XvaConfig:
    """Read and parse a TOML file (see :func:`parse_config`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    return parse_config(path.read_text(), source=str(path))
