"""pytest plugin shipped with stochflow-core: the ``slow`` and ``gpu`` markers for every package.

``gpu`` tests are skipped, with the reason shown, where CUDA is not available; ``nox -s gpu`` runs
them on a machine that has it.
"""

from __future__ import annotations

import importlib.util

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a few seconds; still runs in CI")
    config.addinivalue_line("markers", "gpu: needs CUDA; skipped with a message elsewhere")


def _cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_items = [i for i in items if i.get_closest_marker("gpu")]
    if gpu_items and not _cuda():
        skip = pytest.mark.skip(reason="needs CUDA: run `nox -s gpu` on a machine with a GPU")
        for item in gpu_items:
            item.add_marker(skip)
