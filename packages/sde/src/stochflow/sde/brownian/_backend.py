"""Torch and JAX drivers of the Brownian objects: keyed normals and a few array operations.

Values are kept flat, shape ``(m, N)`` for one node (``N`` = number of elements of the Brownian
motion) or ``(P, m, N)`` for a stack. Normals of a tree node are a pure function of the seed and
the node's address ``(tag, level, index)``: on torch a generator re-seeded from a 63-bit hash of the
address, on JAX ``fold_in`` of the base key with two 32-bit hashes of the address. Hence the same
node gets the same normals whatever the order of queries and whether it is reached alone or in a
batch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stochflow.core.errors import InputError, InputTypeError

_MASK64 = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64 finaliser on Python ints."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def level_hash(seed: int, tag: int, level: int) -> int:
    """The part of :func:`address_hash` that does not depend on the node's index."""
    return _mix(_mix(int(seed) & _MASK64) ^ (tag * 0x100 + level))


def address_hash(seed: int, tag: int, level: int, index: int) -> int:
    """A 64-bit hash of a node address (and the seed)."""
    return _mix(level_hash(seed, tag, level) ^ int(index))


def _mul32(a: Any, b: Any) -> tuple[Any, Any]:
    """Full 64-bit product of two uint32 arrays as ``(hi, lo)`` uint32 (16-bit halves: no overflow)."""
    m16 = np.uint32(0xFFFF)
    a0, a1, b0, b1 = a & m16, a >> np.uint32(16), b & m16, b >> np.uint32(16)
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> np.uint32(16)) + (p01 & m16) + (p10 & m16)
    lo = (mid << np.uint32(16)) | (p00 & m16)
    hi = p11 + (p01 >> np.uint32(16)) + (p10 >> np.uint32(16)) + (mid >> np.uint32(16))
    return hi, lo


def _shr64(hi: Any, lo: Any, k: int) -> tuple[Any, Any]:
    return hi >> np.uint32(k), (lo >> np.uint32(k)) | (hi << np.uint32(32 - k))


def _mulc64(hi: Any, lo: Any, c: int) -> tuple[Any, Any]:
    ch, cl = np.uint32(c >> 32), np.uint32(c & 0xFFFFFFFF)
    p_hi, p_lo = _mul32(lo, cl)
    return p_hi + lo * ch + hi * cl, p_lo


def mix_limbs(hi: Any, lo: Any) -> tuple[Any, Any]:
    """:func:`_mix` on a 64-bit value held as two uint32 arrays ``(hi, lo)`` (numpy or traced JAX;
    only 32-bit integer arithmetic, so it runs without ``jax_enable_x64``); a test checks it
    against the Python-int version."""
    c = 0x9E3779B97F4A7C15
    lo2 = lo + np.uint32(c & 0xFFFFFFFF)
    hi = hi + np.uint32(c >> 32) + (lo2 < lo).astype(np.uint32)
    lo = lo2
    for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
        sh, sl = _shr64(hi, lo, shift)
        hi, lo = _mulc64(hi ^ sh, lo ^ sl, mult)
    sh, sl = _shr64(hi, lo, 31)
    return hi ^ sh, lo ^ sl


def keyed_normal(base: Any, hi: Any, lo: Any, rows: int, n: int, dtype: Any) -> Any:
    """The ``(rows, n)`` normals of a node whose address hashes to ``(hi, lo)`` (JAX; traceable):
    ``fold_in`` of the base key with both halves. The one definition used by the eager kernels and
    the traced descent."""
    import jax  # noqa: PLC0415

    k = jax.random.fold_in(jax.random.fold_in(base, hi), lo)
    return jax.random.normal(k, (rows, n), dtype)


class TorchOps:
    """Torch driver."""

    name = "torch"

    def __init__(self, seed: int, dtype: Any, device: Any) -> None:
        import torch

        self.torch = torch
        self.seed = int(seed)
        self.dtype = dtype
        self.device = torch.device(device if device is not None else "cpu")
        self.gen = torch.Generator(device=self.device)
        self._mats: dict[Any, Any] = {}

    def normals(self, tag: int, level: int, index: int, rows: int, n: int) -> Any:
        self.gen.manual_seed(address_hash(self.seed, tag, level, index) >> 1)
        return self.torch.randn((rows, n), generator=self.gen, dtype=self.dtype, device=self.device)

    def normals_many(self, tag: int, level: int, indices: np.ndarray, rows: int, n: int) -> Any:
        return self.torch.stack([self.normals(tag, level, int(i), rows, n) for i in indices])

    def mix(self, mat: Any, y: Any, address: tuple[int, int, int], rows: int) -> Any:
        """``mat @ [y; z]`` with ``z`` the ``rows`` normals of ``address`` (a node split or a leaf cut)."""
        return self.torch.mm(mat, self.torch.cat([y, self.normals(*address, rows, y.shape[1])]))

    def halves(self, x: Any, m: int) -> tuple[Any, Any]:
        return x[:m], x[m:]

    def combine(self, coef: Any, values: list) -> Any:
        """``coef @ [v_1; v_2; ...]``."""
        return self.torch.mm(coef, self.torch.cat(values))

    def normals_flat(self, shape: tuple[int, ...]) -> Any:
        gen = self.torch.Generator(device=self.device).manual_seed(self.seed)
        return self.torch.randn(shape, generator=gen, dtype=self.dtype, device=self.device)

    def asarray(self, x: np.ndarray, key: Any = None) -> Any:
        if key is not None and key in self._mats:
            return self._mats[key]
        out = self.torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device)
        if key is not None:
            self._mats[key] = out
        return out

    def mm(self, a: Any, x: Any) -> Any:
        return self.torch.mm(a, x)

    def addmm(self, y: Any, a: Any, x: Any, alpha: float = 1.0) -> Any:
        return self.torch.addmm(y, a, x, alpha=alpha)

    def bmm(self, a: Any, x: Any) -> Any:
        return self.torch.matmul(a, x)

    def cat(self, xs: list, axis: int = 0) -> Any:
        return self.torch.cat(xs, axis)

    def stack(self, xs: list) -> Any:
        return self.torch.stack(xs)

    def take(self, x: Any, idx: np.ndarray) -> Any:
        return x[self.torch.as_tensor(idx, dtype=self.torch.long, device=x.device)]

    def where(self, cond: np.ndarray, a: Any, b: Any) -> Any:
        c = self.torch.as_tensor(cond, device=a.device).reshape(-1, *[1] * (a.ndim - 1))
        return self.torch.where(c, a, b)

    def segment_sum(self, x: Any, seg: np.ndarray, n: int) -> Any:
        out = self.torch.zeros((n, *x.shape[1:]), dtype=x.dtype, device=x.device)
        return out.index_add_(0, self.torch.as_tensor(seg, dtype=self.torch.long, device=x.device), x)

    def zeros(self, shape: tuple[int, ...]) -> Any:
        return self.torch.zeros(shape, dtype=self.dtype, device=self.device)

    @staticmethod
    def is_concrete(x: Any) -> bool:
        return True


_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _threefry2x32(k1: Any, k2: Any, x1: Any, x2: Any) -> tuple[Any, Any]:
    """The Threefry-2x32 hash (20 rounds) written out round by round.

    The same integer arithmetic as ``jax.random``'s threefry, whose CPU lowering rolls its five
    blocks of rounds into an XLA while loop: unrolled, XLA fuses the whole hash and the normal
    transform after it into one elementwise pass (about 2x faster for a scan step's draw here).
    """
    from jax import lax  # noqa: PLC0415

    def rotl(x, r):
        return lax.shift_left(x, np.uint32(r)) | lax.shift_right_logical(x, np.uint32(32 - r))

    ks = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for r in _THREEFRY_ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = x1 ^ rotl(x2, r)
        x1, x2 = x1 + ks[(i + 1) % 3], x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def jax_normal(key: Any, n: int, dtype: Any) -> Any:
    """``jax.random.normal(key, (n,), dtype)`` for a raw threefry key, the same numbers bit for bit.

    float32 and float64 under JAX's default PRNG (``threefry2x32``, ``jax_threefry_partitionable``)
    go through :func:`_threefry2x32` and JAX's uniform-to-normal map (mantissa bits to ``[1, 2)``,
    shifted to ``(-1, 1)``, then ``sqrt(2) erfinv``); anything else calls ``jax.random.normal``.
    Traceable; a test checks equality with ``jax.random.normal``.
    """
    import jax  # noqa: PLC0415
    from jax import lax  # noqa: PLC0415

    dt = np.dtype(dtype)
    if (dt.name not in ("float32", "float64") or getattr(key, "shape", None) != (2,)
            or getattr(key, "dtype", None) != np.uint32 or not jax.config.jax_threefry_partitionable
            or jax.config.jax_default_prng_impl != "threefry2x32"):
        return jax.random.normal(key, (n,), dtype)
    b1, b2 = _threefry2x32(key[0], key[1], lax.full((n,), 0, np.uint32), lax.iota(np.uint32, n))
    if dt.itemsize == 8:
        ut = np.dtype(np.uint64)
        bits = lax.shift_left(lax.convert_element_type(b1, ut), ut.type(32)) | lax.convert_element_type(b2, ut)
    else:
        ut, bits = np.dtype(np.uint32), b1 ^ b2
    info = np.finfo(dt)
    mant = lax.shift_right_logical(bits, ut.type(info.bits - info.nmant)) | np.array(1.0, dt).view(ut)
    lo = np.nextafter(np.array(-1.0, dt), np.array(0.0, dt))
    hi = np.array(1.0, dt)
    u = lax.max(lo, (lax.bitcast_convert_type(mant, dt) - dt.type(1.0)) * (hi - lo) + lo)
    return lax.mul(np.array(np.sqrt(2), dt), lax.erf_inv(u))


_JAX_KERNELS: dict[Any, tuple] = {}
_JAX_COMBINE: dict[int, Any] = {}
_JAX_HALVES: dict[int, Any] = {}


class JaxOps:
    """JAX driver (``jax.random`` keys; every operation traceable under ``jax.jit``)."""

    name = "jax"

    def __init__(self, key: Any, dtype: Any) -> None:
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp
        self.key = key
        self.dtype = dtype
        self._mats: dict[Any, Any] = {}

    def normals(self, tag: int, level: int, index: int, rows: int, n: int) -> Any:
        h = address_hash(0, tag, level, index)
        return self._kernels(rows, n)[0](self.key, np.uint32(h >> 32), np.uint32(h & 0xFFFFFFFF))

    def _kernels(self, rows: int, n: int) -> tuple:
        """Jitted ``normals`` and ``mix`` for ``rows x n`` normals (one dispatch per node eagerly),
        shared by every tree of the process (the base key is an argument)."""
        key = (rows, n, str(self.dtype))
        if key not in _JAX_KERNELS:
            jax, jnp, dtype = self.jax, self.jnp, self.dtype

            def normal(base, hi, lo):
                return keyed_normal(base, hi, lo, rows, n, dtype)

            def mix(mat, y, base, hi, lo):
                return jnp.matmul(mat, jnp.concatenate([y, normal(base, hi, lo)]))

            _JAX_KERNELS[key] = (jax.jit(normal), jax.jit(mix))
        return _JAX_KERNELS[key]

    def mix(self, mat: Any, y: Any, address: tuple[int, int, int], rows: int) -> Any:
        h = address_hash(0, *address)
        return self._kernels(rows, y.shape[1])[1](mat, y, self.key, np.uint32(h >> 32), np.uint32(h & 0xFFFFFFFF))

    def halves(self, x: Any, m: int) -> tuple[Any, Any]:
        if m not in _JAX_HALVES:
            _JAX_HALVES[m] = self.jax.jit(lambda v: (v[:m], v[m:]))
        return _JAX_HALVES[m](x)

    def combine(self, coef: Any, values: list) -> Any:
        # pad the number of pieces to a power of two: a handful of compiled shapes in all
        p = len(values)
        size = 1 << max(0, (p - 1).bit_length())
        m = coef.shape[0]
        if size > p:
            coef = np.concatenate([coef, np.zeros((m, (size - p) * m), coef.dtype)], 1)
            values = values + [values[0]] * (size - p)
        if size not in _JAX_COMBINE:
            jnp = self.jnp
            _JAX_COMBINE[size] = self.jax.jit(lambda c, *v: jnp.matmul(c, jnp.concatenate(v)))
        return _JAX_COMBINE[size](coef, *values)

    def normals_many(self, tag: int, level: int, indices: np.ndarray, rows: int, n: int) -> Any:
        hs = [address_hash(0, tag, level, int(i)) for i in indices]
        hi = self.jnp.asarray(np.array([h >> 32 for h in hs], dtype=np.uint32))
        lo = self.jnp.asarray(np.array([h & 0xFFFFFFFF for h in hs], dtype=np.uint32))
        def one(a, b):
            return keyed_normal(self.key, a, b, rows, n, self.dtype)

        return self.jax.vmap(one)(hi, lo)

    def normals_flat(self, shape: tuple[int, ...]) -> Any:
        return self.jax.random.normal(self.key, shape, self.dtype)

    def asarray(self, x: np.ndarray, key: Any = None) -> Any:
        if key is not None and key in self._mats:
            return self._mats[key]
        out = np.asarray(x, dtype=np.dtype(self.dtype))  # a numpy constant: safe to reuse across traces
        if key is not None:
            self._mats[key] = out
        return out

    def mm(self, a: Any, x: Any) -> Any:
        return self.jnp.matmul(a, x)

    def addmm(self, y: Any, a: Any, x: Any, alpha: float = 1.0) -> Any:
        return y + alpha * self.jnp.matmul(a, x)

    def bmm(self, a: Any, x: Any) -> Any:
        return self.jnp.matmul(a, x)

    def cat(self, xs: list, axis: int = 0) -> Any:
        return self.jnp.concatenate(xs, axis)

    def stack(self, xs: list) -> Any:
        return self.jnp.stack(xs)

    def take(self, x: Any, idx: np.ndarray) -> Any:
        return x[np.asarray(idx)]

    def where(self, cond: np.ndarray, a: Any, b: Any) -> Any:
        return self.jnp.where(np.asarray(cond).reshape(-1, *[1] * (a.ndim - 1)), a, b)

    def segment_sum(self, x: Any, seg: np.ndarray, n: int) -> Any:
        return self.jax.ops.segment_sum(x, np.asarray(seg), num_segments=n)

    def zeros(self, shape: tuple[int, ...]) -> Any:
        return self.jnp.zeros(shape, self.dtype)

    def is_concrete(self, x: Any) -> bool:
        return not isinstance(x, self.jax.core.Tracer)

    def is_traced(self, x: Any) -> bool:
        return isinstance(x, self.jax.core.Tracer)


def _is_jax_key(x: Any) -> bool:
    mod = type(x).__module__
    return mod.startswith("jax") or mod.startswith("jaxlib")


def make_ops(seed: Any, dtype: Any, device: Any, backend: Any) -> TorchOps | JaxOps:
    """Validate ``seed``/``dtype``/``device``/``backend`` and build the driver.

    ``backend`` is ``"torch"``, ``"jax"`` or a JAX PRNG key (then JAX); a JAX key as ``seed`` also
    selects JAX.
    """
    key = None
    if _is_jax_key(backend):
        key, backend = backend, "jax"
    elif _is_jax_key(seed):
        key, backend = seed, "jax"
    if backend not in ("torch", "jax"):
        raise InputError(f"backend must be 'torch', 'jax' or a JAX PRNG key, got {backend!r}")
    if key is None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise InputTypeError(f"seed must be a non-negative int (or a JAX PRNG key), got {seed!r}")
    name = dtype_name(dtype)
    if name not in ("float16", "bfloat16", "float32", "float64"):
        raise InputError(f"dtype must be a floating dtype (float32 or float64), got {dtype!r}")
    if backend == "torch":
        import torch

        if device is not None and not isinstance(device, (str, torch.device)):
            raise InputTypeError(f"device must be a string or torch.device, got {type(device).__name__}")
        return TorchOps(int(seed) if key is None else 0, getattr(torch, name), device)
    import jax
    import jax.numpy as jnp

    if key is None:
        key = seed_key(int(seed))
    elif getattr(key, "dtype", None) is not None and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return JaxOps(key, jnp.dtype(name))


_KEYS: dict[int, Any] = {}


def seed_key(seed: int) -> Any:
    """``jax.random.PRNGKey(seed)``, kept for the last few seeds (building a key costs a dispatch)."""
    key = _KEYS.get(seed)
    if key is None:
        import jax

        key = jax.random.PRNGKey(seed)
        if not isinstance(key, jax.core.Tracer):
            if len(_KEYS) > 32:
                _KEYS.clear()
            _KEYS[seed] = key
    return key


def dtype_name(dtype: Any) -> str:
    """``"float32"``... for a torch dtype, a JAX/numpy dtype or scalar type, or a string."""
    if type(dtype).__module__.startswith("torch"):
        return str(dtype).replace("torch.", "")
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(getattr(dtype, "name", dtype))


def flat_size(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape))


def check_shape(shape: Any) -> tuple[int, ...]:
    """A tuple of positive ints (an int is a 1-tuple)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        ok = not isinstance(shape, str) and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape)
        out = tuple(int(s) for s in shape) if ok else ()
    except TypeError:
        ok, out = False, ()
    if not ok or any(s <= 0 for s in out):
        raise InputError(f"shape must be a tuple of positive ints, e.g. (batch, d), got {shape!r}")
    return out
