from __future__ import annotations

import platform

from stochflow.core.machine import describe


def test_describe_names_python_and_the_asked_distributions():
    line = describe("pluggy", "no-such-distribution-xyz")
    assert f"Python {platform.python_version()}" in line
    assert "pluggy 1." in line
    assert "no-such-distribution-xyz not installed" in line
