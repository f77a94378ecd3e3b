"""Scale-out on PyTorch's own machinery: ``torchrun`` + DistributedDataParallel for training, and
sharded Monte Carlo over the same process group.

Nothing here is home-made distribution: it is the thin glue every stochflow trainer and Monte Carlo
estimator shares so that one script runs unchanged single-process and under
``torchrun --nproc_per_node=N``. torch is imported inside the functions, so importing
``stochflow.core`` stays torch-free.

Reproducibility across world sizes: Monte Carlo work is cut into fixed *blocks* of paths, block
``b`` is drawn from ``derive_seed(seed, "block", b)``, and ranks take blocks round-robin. The
same global seed therefore gives the same paths on 1 or N processes, and the all-reduced estimate
equals the single-process one up to the order of summation (:func:`sharded_monte_carlo`), or
exactly, where every rank gathers the blocks' results and reduces them in block order
(:func:`gather_blocks`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stochflow.core.errors import InputError
from stochflow.core.seeding import derive_seed


def _dist():
    import torch.distributed as dist

    return dist if dist.is_available() else None


def is_initialized() -> bool:
    dist = _dist()
    return bool(dist and dist.is_initialized())


def rank() -> int:
    """This process's rank (0 when not distributed)."""
    return _dist().get_rank() if is_initialized() else 0


def world_size() -> int:
    """Number of processes (1 when not distributed)."""
    return _dist().get_world_size() if is_initialized() else 1


def is_main() -> bool:
    """True on rank 0: the rank that logs, shows progress and writes checkpoints."""
    return rank() == 0


def init_from_env(backend: str | None = None) -> bool:
    """Join the process group that ``torchrun`` describes in the environment.

    Returns True when running distributed. Without ``WORLD_SIZE`` > 1 (a plain ``python`` run)
    it does nothing and returns False, so the same script runs single-process.
    """
    if is_initialized():
        return True
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    import torch

    dist = _dist()
    if dist is None:
        raise RuntimeError("torch.distributed is not available in this torch build")
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    dist.init_process_group(backend=backend)
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return True


def barrier() -> None:
    if is_initialized():
        _dist().barrier()


def shutdown() -> None:
    """Wait for every rank, then leave the process group (the last line of a torchrun script).

    A process that exits with its gloo/NCCL group still alive can abort in the group's background
    threads during interpreter teardown ("terminate called without an active exception", SIGABRT),
    which torchrun reports as a failed run. A no-op when not distributed."""
    if is_initialized():
        _dist().barrier()
        _dist().destroy_process_group()


def wrap_model(module: Any, device: Any = None) -> Any:
    """DistributedDataParallel around ``module`` when distributed, the module itself otherwise."""
    if not is_initialized() or world_size() == 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    dev = device if device is not None else next(module.parameters()).device
    ids = [dev.index] if getattr(dev, "type", "cpu") == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def unwrap_model(module: Any) -> Any:
    """The plain module inside a DDP wrapper (what checkpoints store)."""
    return getattr(module, "module", module)


def all_reduce_sum(tensor: Any) -> Any:
    """Sum a tensor over ranks, in place; a no-op single-process."""
    if is_initialized() and world_size() > 1:
        _dist().all_reduce(tensor)
    return tensor


def all_reduce_mean(tensor: Any) -> Any:
    """Average a tensor over ranks, in place."""
    all_reduce_sum(tensor)
    if is_initialized() and world_size() > 1:
        tensor /= world_size()
    return tensor


def blocks(n_items: int, block_size: int) -> list[tuple[int, int, int]]:
    """``(block index, start, stop)`` of this rank's share of ``n_items``, round-robin by block."""
    if n_items < 1 or block_size < 1:
        raise InputError(f"n_items and block_size must be >= 1, got {n_items} and {block_size}")
    n_blocks = -(-n_items // block_size)
    return [(b, b * block_size, min(n_items, (b + 1) * block_size))
            for b in range(rank(), n_blocks, world_size())]


def sharded_monte_carlo(simulate: Callable[[int, int], Any], n_paths: int, *, seed: int,
                        block_size: int = 4096) -> Any:
    """Sum of ``simulate(n, block_seed)`` over all blocks of paths, computed by every rank on its
    share and all-reduced.

    ``simulate(n, seed)`` must return a tensor of *sums* over its ``n`` paths (e.g. the sum of
    payoffs and of squared payoffs); divide by ``n_paths`` for means. Same ``seed``, same result on
    any number of ranks up to summation order.
    """
    total = None
    for b, start, stop in blocks(n_paths, block_size):
        part = simulate(stop - start, derive_seed(seed, "block", b))
        total = part if total is None else total + part
    if total is None:  # more ranks than blocks: this rank contributes zeros of the right shape
        import torch

        probe = simulate(1, derive_seed(seed, "block", 0))
        total = torch.zeros_like(probe)
    return all_reduce_sum(total)


def gather_blocks(compute: Callable[[int, int, int], Any], n_items: int, *, block_size: int) -> list[Any]:
    """``compute(b, start, stop)`` for every block of ``n_items``, each block computed by one rank
    (round-robin, as :func:`blocks`), and every block's result on every rank, in block order.

    Where :func:`sharded_monte_carlo` all-reduces sums, this hands back each block's own result
    (per-path samples, for quantiles or standard errors), so whatever is computed from them is the
    same computation on the same numbers on any number of ranks. Results travel pickled
    (``all_gather_object``): keep them to CPU tensors of modest size.
    """
    mine = {b: compute(b, start, stop) for b, start, stop in blocks(n_items, block_size)}
    if is_initialized() and world_size() > 1:
        parts: list[Any] = [None] * world_size()
        _dist().all_gather_object(parts, mine)
        mine = {b: result for part in parts for b, result in part.items()}
    return [mine[b] for b in sorted(mine)]


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` with ``torch.save`` on rank 0 only (atomically: temp file, then rename);
    every rank waits until it is on disk."""
    import torch

    path = Path(path)
    if is_main():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, path)
    barrier()


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, on any number of ranks."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError(f"no checkpoint at {path}: train first, or pass the right --resume path")
    return torch.load(path, map_location=map_location, weights_only=False)
