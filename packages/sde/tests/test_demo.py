"""`stochflow demo sde`: the registered demo writes a sample-path plot and an order plot."""

from stochflow.core import get_registry
from stochflow.core.demo import run_demo

PNG = b"\x89PNG\r\n\x1a\n"


def test_demo_plots_sample_paths_and_fitted_orders(tmp_path):
    done = run_demo(get_registry().get("demo", "sde"), tmp_path)
    assert done.error is None, done.error
    names = sorted(p.name for p in done.result.figures)
    assert names == ["gbm_paths.png", "strong_order.png"]
    for path in done.result.figures:
        assert path.parent == tmp_path / "sde" and path.read_bytes()[:8] == PNG
    orders = done.result.metrics
    for solver, theory in (("euler", 0.5), ("milstein", 1.0), ("srk", 1.5)):
        assert abs(orders[f"strong_order_{solver}"] - theory) < 0.1
