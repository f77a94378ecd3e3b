from __future__ import annotations

import pytest

import stochflow.jump as sfj


@pytest.fixture(scope="session")
def dfr():
    return sfj.dfr_generator(1.0, 1.0, 1.0)
