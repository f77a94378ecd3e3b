"""``stochflow xva``: price a portfolio's valuation adjustments from a TOML file.

    stochflow xva run portfolio.toml --out report/     table on stdout; xva.json, exposure.csv,
                                                       exposure.png under report/
    stochflow xva example                              print the example portfolio (TOML)

Under ``torchrun`` (``torchrun --nproc_per_node=N -m stochflow.core.cli xva run ...``) the BSDE layers
train under DDP, the Monte Carlo blocks (``--block-size``) are shared out, and rank 0 writes the report.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from stochflow.core.cli import ArgumentParser
from stochflow.core.errors import InputError, InputTypeError


def _parser(prog: str) -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description="Multi-layer xVA (CVA, DVA, ColVA, MVA, FVA) by deep BSDEs "
                                                   "and Monte Carlo with structural credit models.")
    sub = parser.add_subparsers(dest="action", required=True, parser_class=ArgumentParser)
    run = sub.add_parser("run", help="price the portfolio described in a TOML file")
    run.add_argument("config", type=Path, help="portfolio and market (TOML); see 'stochflow xva example'")
    run.add_argument("--out", type=Path, default=Path("xva-report"), help="report folder (default: xva-report)")
    run.add_argument("--paths", type=int, help="override settings.n_paths")
    run.add_argument("--steps", type=int, help="override settings.n_steps")
    run.add_argument("--seed", type=int, help="override settings.seed")
    run.add_argument("--block-size", type=int, help="override settings.mc_block_size (paths per Monte Carlo "
                                                    "block; under torchrun the ranks share the blocks out)")
    run.add_argument("--no-fva", action="store_true", help="skip the FVA layer (the slowest)")
    run.add_argument("--threads", type=int, default=1, help="torch threads (default 1: fastest for small networks)")
    run.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    sub.add_parser("example", help="print the example portfolio TOML")
    return parser


def main(argv: list[str], prog: str = "stochflow xva") -> int:
    """Entry point of ``stochflow xva``; returns the exit code (2 for bad input)."""
    parser = _parser(prog)
    args = parser.parse_args(argv)
    from stochflow.xva.config import example_path, load_config

    if args.action == "example":
        print(example_path().read_text(), end="")
        return 0
    try:
        cfg = load_config(args.config)
        overrides = {k: v for k, v in (("n_paths", args.paths), ("n_steps", args.steps), ("seed", args.seed),
                                       ("mc_block_size", args.block_size)) if v is not None}
        if args.no_fva:
            overrides["fva"] = "none"
        from dataclasses import replace

        settings = replace(cfg.settings, **overrides) if overrides else cfg.settings
        if args.threads < 1:
            raise InputError(f"--threads must be >= 1, got {args.threads}")
        import torch

        from stochflow.xva.layers import XvaPipeline

        torch.set_num_threads(args.threads)
        pipeline = XvaPipeline(cfg.portfolio, cfg.market, cfg.csa, settings)
    except (InputError, InputTypeError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    result = pipeline.run()                           # under torchrun: every rank takes its share
    from stochflow.core import distributed as D

    main = D.is_main()
    D.shutdown()                                      # every rank leaves the group before exiting
    if not main:
        return 0
    write_report(result, args.out, title=args.config.name)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.table())
        print(f"report written to {args.out}/ (xva.json, exposure.csv, exposure.png)")
    return 0


def write_report(result, out: Path, title: str = "") -> list[Path]:
    """Write ``xva.json``, ``exposure.csv`` and ``exposure.png`` under ``out``."""
    from stochflow.xva.exposure import plot_profile

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "xva.json").write_text(json.dumps(result.to_dict(), indent=2))
    prof = result.profile
    with open(out / "exposure.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["time", "epe", "ene", f"pfe_{prof.pfe_quantile}"])
        for row in zip(prof.times, prof.epe, prof.ene, prof.pfe):
            w.writerow([f"{x:.10g}" for x in row])
    plot_profile(prof, out / "exposure.png", title=f"Exposure profile {title}".strip())
    return [out / "xva.json", out / "exposure.csv", out / "exposure.png"]
