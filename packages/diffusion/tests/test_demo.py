"""`stochflow demo diffusion`: three samplers at 10 NFE beside exact samples of a 2-D mixture."""

import subprocess
import sys

import pytest

from stochflow.core import get_registry


@pytest.mark.slow
def test_demo_samples_the_ring_with_three_samplers_at_10_nfe(tmp_path):
    result = get_registry().get("demo", "diffusion").load()(tmp_path)
    assert len(result.figures) == 1 and result.figures[0].stat().st_size > 20_000
    floor = result.metrics["floor_sliced_w2"]
    runs = {k: v for k, v in result.metrics.items() if isinstance(v, dict)}
    assert len(runs) == 3 and all(v["nfe"] == 10 for v in runs.values())
    # 10 evaluations of the exact score: within three noise floors, and every mode kept in weight
    for name, v in runs.items():
        assert v["sliced_w2"] < 3 * floor and v["mode_weight_tv"] < 0.08, (name, v, floor)


def test_demo_is_listed_by_the_cli():
    out = subprocess.run([sys.executable, "-m", "stochflow.core.cli", "demo", "--help"], capture_output=True,
                         text=True)
    assert out.returncode == 0
    listed = subprocess.run([sys.executable, "-m", "stochflow.core.cli", "plugins", "list"], capture_output=True,
                            text=True)
    assert listed.returncode == 0 and "stochflow-diffusion" in listed.stdout
