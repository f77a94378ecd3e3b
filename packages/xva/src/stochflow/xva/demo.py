"""``stochflow demo xva``: price a small portfolio's xVA and plot its exposure profile (< 1 minute)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from stochflow.core.demo import DemoResult


def run(out: Path) -> DemoResult:
    """Price the shipped example portfolio with reduced sizes; write ``exposure.png`` under ``out``."""
    import torch

    from stochflow.xva.cli import write_report
    from stochflow.xva.config import example_path, load_config
    from stochflow.xva.layers import XvaPipeline

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: one thread beats two on a shared CPU
    try:
        cfg = load_config(example_path())
        # reduced sizes: 20 dates (the 10-day MPoR is one step), 10 000 paths, short trainings
        settings = replace(cfg.settings, n_steps=20, n_paths=10_000, im_iterations=200,
                           bsde={**cfg.settings.bsde, "iterations": 250})
        result = XvaPipeline(cfg.portfolio, cfg.market, cfg.csa, settings).run()
    finally:
        torch.set_num_threads(threads)
    files = write_report(result, Path(out), title="(example portfolio)")
    lines = [f"{len(cfg.portfolio.trades)} trades on {cfg.market.n_assets} assets; structural bank and "
             f"counterparty; VM threshold {cfg.csa.threshold}, IM {cfg.csa.im_quantile:.0%} over "
             f"{cfg.csa.mpor * 250:.0f} days", *result.table().splitlines()]
    metrics = {name: (est.value if est is not None else None) for name, est in result.rows()}
    return DemoResult(lines=tuple(lines), figures=(files[2],), metrics=metrics)
