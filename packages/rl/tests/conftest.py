from __future__ import annotations

import numpy as np
import pytest
import torch

from stochflow.rl import Trajectories

# The tests work on small tensors, where torch's intra-op threads only add contention on a busy
# shared machine (several times slower there); one thread keeps the suite's runtime predictable.
torch.set_num_threads(1)


def split_paths(data: Trajectories, k: int) -> list[Trajectories]:
    """``k`` disjoint groups of paths (independent replicates of the same experiment)."""
    idx = torch.arange(data.n_paths).chunk(k)
    times = data.times
    return [Trajectories(times if times.shape[0] == 1 else times[i], data.states[i], data.rewards[i], data.setting)
            for i in idx]


def estimate_with_se(make, data: Trajectories, what, k: int = 10):
    """The estimate ``what(fitted)`` on all of ``data`` and its standard error from ``k`` groups of paths."""
    full = np.asarray(what(make().fit(data)), dtype=float)
    groups = np.stack([np.asarray(what(make().fit(g)), dtype=float) for g in split_paths(data, k)])
    se = groups.std(axis=0, ddof=1) / np.sqrt(k)
    return full, se


@pytest.fixture
def groups():
    return split_paths


@pytest.fixture
def with_se():
    return estimate_with_se


def fit_slope(dts, errors) -> float:
    return float(np.polyfit(np.log(dts), np.log(np.abs(errors)), 1)[0])


@pytest.fixture
def slope():
    return fit_slope
