"""run.py in GDSS's own training configuration: score networks without a time input, lr 1e-2 × 0.999.

GDSS's ScoreNetworkX/ScoreNetworkA take no time input; ours carry ``t`` as an extra feature / edge
channel by default. This script swaps ``default_nets`` for the same networks with
``time_conditioning=False`` (same sizes; built inside the trainer's seeded block, so a rerun repeats) and runs ``run.py`` with
GDSS's learning-rate schedule. Extra arguments go to run.py, e.g.

    python packages/graph/benchmarks/gdss_config.py --no-smoke --out /tmp/graph_gdss.md --run-dir /tmp/g
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import stochflow.graph.training as training

_default_nets = training.default_nets


def _nets_without_time(n_features: int, size: str = "small"):
    net_x, net_a = _default_nets(n_features, size)
    return (type(net_x)(**{**net_x.config, "time_conditioning": False}),
            type(net_a)(**{**net_a.config, "time_conditioning": False}))


if __name__ == "__main__":
    training.default_nets = _nets_without_time
    sys.argv = [str(Path(__file__).with_name("run.py")), "--lr", "1e-2", "--lr-decay", "0.999", *sys.argv[1:]]
    runpy.run_path(sys.argv[0], run_name="__main__")
