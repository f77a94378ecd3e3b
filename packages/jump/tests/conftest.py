from __future__ import annotations

import pytest
import torch

import stochflow.jump as sfj

torch.set_num_threads(1)  # the machine is shared; intra-op threads only add contention here


@pytest.fixture(scope="session")
def dfr():
    return sfj.dfr_generator(1.0, 1.0, 1.0)
