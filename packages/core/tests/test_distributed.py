"""Blocks of Monte Carlo work: round-robin shares, and gathered results in block order.

A real process group is exercised by ``integration_tests`` under ``torchrun``; here the rank, the
world size and the collective are stood in for, so these run without torch."""

from __future__ import annotations

import pytest

from stochflow.core import distributed as D
from stochflow.core.errors import InputError


def _as_rank(monkeypatch, rank: int, world: int, gather=None) -> None:
    monkeypatch.setattr(D, "rank", lambda: rank)
    monkeypatch.setattr(D, "world_size", lambda: world)
    monkeypatch.setattr(D, "is_initialized", lambda: world > 1)
    if gather is not None:
        monkeypatch.setattr(D, "_dist", lambda: type("FakeDist", (), {"all_gather_object": staticmethod(gather)}))


def test_blocks_share_every_item_once_round_robin(monkeypatch):
    shares = []
    for r in range(3):
        _as_rank(monkeypatch, r, 3)
        shares.append(D.blocks(10, 3))
    assert [[b for b, _, _ in share] for share in shares] == [[0, 3], [1], [2]]
    covered = sorted(i for share in shares for _, lo, hi in share for i in range(lo, hi))
    assert covered == list(range(10))
    with pytest.raises(InputError, match="block_size"):
        D.blocks(10, 0)


def test_gather_blocks_single_process_is_every_block_in_order(monkeypatch):
    _as_rank(monkeypatch, 0, 1)
    assert D.gather_blocks(lambda b, lo, hi: (b, lo, hi), 7, block_size=3) == [(0, 0, 3), (1, 3, 6), (2, 6, 7)]


def test_gather_blocks_merges_the_ranks_results_in_block_order(monkeypatch):
    compute = lambda b, lo, hi: [b * 100 + i for i in range(lo, hi)]
    _as_rank(monkeypatch, 0, 1)
    single = D.gather_blocks(compute, 11, block_size=2)

    def gather(parts, mine):  # rank 0 of 2: rank 1 computed the odd blocks
        parts[0] = mine
        parts[1] = {b: compute(b, 2 * b, min(11, 2 * b + 2)) for b in (1, 3, 5)}

    _as_rank(monkeypatch, 0, 2, gather)
    assert D.gather_blocks(compute, 11, block_size=2) == single
    assert sum(len(x) for x in single) == 11
