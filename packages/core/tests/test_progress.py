"""Progress bars: on when asked, off when quiet, and one per torchrun job (rank 0 only)."""

from __future__ import annotations

import sys
import types

from stochflow.core import distributed
from stochflow.core.progress import progress


def test_explicit_bar_is_shown_and_counts():
    bar = progress(range(3), disable=False)
    assert not bar.disable
    assert list(bar) == [0, 1, 2]


def test_quiet_environment_turns_default_bar_off(monkeypatch):
    monkeypatch.setenv("STOCHFLOW_QUIET", "1")
    assert progress(range(3)).disable


def test_only_rank_zero_shows_a_bar(monkeypatch):
    # a process group can only exist where torch.distributed is imported: stand in for it
    monkeypatch.setitem(sys.modules, "torch.distributed", types.ModuleType("torch.distributed"))
    monkeypatch.setattr(distributed, "is_main", lambda: False)
    assert progress(range(3), disable=False).disable
    monkeypatch.setattr(distributed, "is_main", lambda: True)
    assert not progress(range(3), disable=False).disable
