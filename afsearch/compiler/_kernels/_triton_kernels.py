"""The Triton programs behind :mod:`afsearch.compiler._kernels._triton` (imports triton).

One forward and one backward program serve every kernel: ``KIND`` picks the basis at compile
time (0 power, 1 Chebyshev, 2 Legendre, 3 Fourier, 4 RBF, 5 rational) and the loops over the
coefficients unroll. ``c_ptr`` holds the structure's constants in the compute dtype: the
scale, the tail's edge, the Fourier frequency or the RBF linear factor, then ``(A, c, C)`` of
each RBF bump. Each program handles ``BLOCK`` elements; the backward writes ``grad_x``
and one partial sum per coefficient and program, which the caller sums. The recurrences are
those of the torch ops in ``_polynomial.py``, ``_periodic.py`` and ``_rational.py``.
Written without a GPU at hand: run under Triton's interpreter on a CPU only.
"""

import triton
import triton.language as tl


@triton.jit
def _tanh(x):
    # exp-based: portable to every backend and to the interpreter.
    t = tl.exp(-2.0 * tl.abs(x))
    y = (1.0 - t) / (1.0 + t)
    return tl.where(x < 0, -y, y)


@triton.jit
def _load(a_ptr, k, DTYPE: tl.constexpr):
    return tl.load(a_ptr + k).to(DTYPE)


@triton.jit
def _input(x, c_ptr, TANH: tl.constexpr, TAIL: tl.constexpr, DTYPE: tl.constexpr):
    """``(c, u, du/dx)``: the clamped input, the basis variable and its slope."""
    c = x
    if TAIL:
        edge = _load(c_ptr, 1, DTYPE)
        c = tl.minimum(tl.maximum(x, -edge), edge)
    if TANH:
        u = _tanh(x)
        du = 1.0 - u * u
    else:
        scale = _load(c_ptr, 0, DTYPE)
        u = c * scale
        du = x * 0.0 + scale
    return c, u, du


@triton.jit
def _poly(u, a_ptr, KIND: tl.constexpr, DEG: tl.constexpr, DTYPE: tl.constexpr):
    """``S(u)`` and ``S'(u)``: Horner (power) or Clenshaw (Chebyshev, Legendre)."""
    zero = u * 0.0
    if KIND == 0:
        p = zero + _load(a_ptr, DEG, DTYPE)
        dp = zero
        for i in tl.static_range(DEG):
            k = DEG - 1 - i
            dp = dp * u + p
            p = p * u + _load(a_ptr, k, DTYPE)
        return p, dp
    if DEG == 0:
        return zero + _load(a_ptr, 0, DTYPE), zero
    b1 = zero + _load(a_ptr, DEG, DTYPE)
    b2 = zero
    d1 = zero
    d2 = zero
    for i in tl.static_range(DEG - 1):
        k = DEG - 1 - i
        if KIND == 1:
            nb = _load(a_ptr, k, DTYPE) + 2.0 * u * b1 - b2
            nd = 2.0 * b1 + 2.0 * u * d1 - d2
        else:
            # Integer factors divided in the compute dtype: a float64 kernel keeps its digits
            # (a float literal would be float32).
            nb = _load(a_ptr, k, DTYPE) + (2 * k + 1) * u * b1 / (k + 1) - (k + 1) * b2 / (k + 2)
            nd = (2 * k + 1) * (b1 + u * d1) / (k + 1) - (k + 1) * d2 / (k + 2)
        b2 = b1
        b1 = nb
        d2 = d1
        d1 = nd
    if KIND == 1:
        s = _load(a_ptr, 0, DTYPE) + u * b1 - b2
        ds = b1 + u * d1 - d2
    else:
        s = _load(a_ptr, 0, DTYPE) + u * b1 - 0.5 * b2
        ds = b1 + u * d1 - 0.5 * d2
    return s, ds


@triton.jit
def _value(
    x,
    a_ptr,
    c_ptr,
    KIND: tl.constexpr,
    DEG: tl.constexpr,
    M: tl.constexpr,
    NB: tl.constexpr,
    TANH: tl.constexpr,
    TAIL: tl.constexpr,
    DTYPE: tl.constexpr,
):
    c, u, _ = _input(x, c_ptr, TANH, TAIL, DTYPE)
    if KIND <= 2:
        s, ds = _poly(u, a_ptr, KIND, DEG, DTYPE)
        y = s
        if TAIL:
            y = s + ds * (x - c) * _load(c_ptr, 0, DTYPE)
    elif KIND == 3:
        th = u * _load(c_ptr, 2, DTYPE)
        c1 = tl.cos(th)
        s1 = tl.sin(th)
        ck = c1
        sk = s1
        y = _load(a_ptr, 0, DTYPE) + _load(a_ptr, 1, DTYPE) * c1 + _load(a_ptr, DEG + 1, DTYPE) * s1
        for i in tl.static_range(DEG - 1):
            k = i + 2
            nc = ck * c1 - sk * s1
            sk = sk * c1 + ck * s1
            ck = nc
            y += _load(a_ptr, k, DTYPE) * ck + _load(a_ptr, DEG + k, DTYPE) * sk
    elif KIND == 4:
        y = _load(a_ptr, 0, DTYPE) + _load(a_ptr, 1, DTYPE) * _load(c_ptr, 2, DTYPE) * u
        for j in tl.static_range(NB):
            t = u - _load(c_ptr, 3 * j + 4, DTYPE)
            e = tl.exp(_load(c_ptr, 3 * j + 3, DTYPE) * t * t + _load(c_ptr, 3 * j + 5, DTYPE))
            y += _load(a_ptr, 2 + j, DTYPE) * e
    else:
        p, _ = _poly(x, a_ptr, 0, M, DTYPE)
        q, _ = _poly(x, a_ptr + M + 1, 0, DEG - 1, DTYPE)
        y = p / (1.0 + tl.abs(x * q))
    return y


@triton.jit
def forward_kernel(
    x_ptr,
    a_ptr,
    c_ptr,
    y_ptr,
    n,
    KIND: tl.constexpr,
    DEG: tl.constexpr,
    M: tl.constexpr,
    NB: tl.constexpr,
    TANH: tl.constexpr,
    TAIL: tl.constexpr,
    MIX: tl.constexpr,
    SIZE: tl.constexpr,
    DTYPE: tl.constexpr,
    BLOCK: tl.constexpr,
):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(DTYPE)
    y = _value(x, a_ptr, c_ptr, KIND, DEG, M, NB, TANH, TAIL, DTYPE)
    if MIX:
        y += _load(a_ptr, SIZE, DTYPE) * tl.maximum(x, 0.0)
    tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _partial(p_ptr, k, term):
    tl.store(p_ptr + k, tl.sum(term, axis=0))


@triton.jit
def backward_kernel(
    x_ptr,
    g_ptr,
    a_ptr,
    c_ptr,
    gx_ptr,
    p_ptr,
    n,
    KIND: tl.constexpr,
    DEG: tl.constexpr,
    M: tl.constexpr,
    NB: tl.constexpr,
    TANH: tl.constexpr,
    TAIL: tl.constexpr,
    MIX: tl.constexpr,
    SIZE: tl.constexpr,
    COEFFS: tl.constexpr,
    DTYPE: tl.constexpr,
    BLOCK: tl.constexpr,
):
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(DTYPE)
    g = tl.load(g_ptr + offs, mask=mask, other=0.0).to(DTYPE)
    parts = p_ptr + pid * (SIZE + MIX)
    c, u, du = _input(x, c_ptr, TANH, TAIL, DTYPE)
    if KIND <= 2:
        # The basis recurrence: phi_k, phi_k' together; S' = sum a_k phi_k'.
        r = g * 0.0
        if TAIL:
            r = g * (x - c) * _load(c_ptr, 0, DTYPE)
        ds = g * 0.0 + _load(a_ptr, 1, DTYPE)
        if COEFFS:
            _partial(parts, 0, g)
            _partial(parts, 1, g * u + r)
        t0 = u * 0.0 + 1.0
        t1 = u
        d0 = u * 0.0
        d1 = u * 0.0 + 1.0
        for i in tl.static_range(DEG - 1):
            k = i + 2
            if KIND == 0:
                nt = t1 * u
                nd = k * t1
            elif KIND == 1:
                nt = 2.0 * u * t1 - t0
                nd = 2.0 * t1 + 2.0 * u * d1 - d0
            else:
                nt = ((2.0 * k - 1.0) * u * t1 - (k - 1.0) * t0) / k
                nd = d0 + (2.0 * k - 1.0) * t1
            t0 = t1
            t1 = nt
            d0 = d1
            d1 = nd
            ds += _load(a_ptr, k, DTYPE) * d1
            if COEFFS:
                _partial(parts, k, g * t1 + r * d1)
        gx = g * ds * du
    elif KIND == 3:
        freq = _load(c_ptr, 2, DTYPE)
        th = u * freq
        c1 = tl.cos(th)
        s1 = tl.sin(th)
        ck = c1
        sk = s1
        slope = _load(a_ptr, DEG + 1, DTYPE) * c1 - _load(a_ptr, 1, DTYPE) * s1
        if COEFFS:
            _partial(parts, 0, g)
            _partial(parts, 1, g * c1)
            _partial(parts, DEG + 1, g * s1)
        for i in tl.static_range(DEG - 1):
            k = i + 2
            nc = ck * c1 - sk * s1
            sk = sk * c1 + ck * s1
            ck = nc
            slope += k * (_load(a_ptr, DEG + k, DTYPE) * ck - _load(a_ptr, k, DTYPE) * sk)
            if COEFFS:
                _partial(parts, k, g * ck)
                _partial(parts, DEG + k, g * sk)
        gx = g * slope * freq * du
    elif KIND == 4:
        linear = _load(c_ptr, 2, DTYPE)
        slope = g * 0.0 + _load(a_ptr, 1, DTYPE) * linear
        if COEFFS:
            _partial(parts, 0, g)
            _partial(parts, 1, g * u * linear)
        for j in tl.static_range(NB):
            a = _load(c_ptr, 3 * j + 3, DTYPE)
            t = u - _load(c_ptr, 3 * j + 4, DTYPE)
            e = tl.exp(a * t * t + _load(c_ptr, 3 * j + 5, DTYPE))
            slope += _load(a_ptr, 2 + j, DTYPE) * 2.0 * a * e * t
            if COEFFS:
                _partial(parts, 2 + j, g * e)
        gx = g * slope * du
    else:
        p, dp = _poly(x, a_ptr, 0, M, DTYPE)
        q, dq = _poly(x, a_ptr + M + 1, 0, DEG - 1, DTYPE)
        big_a = x * q
        den = 1.0 + tl.abs(big_a)
        sign = tl.where(big_a > 0, 1.0, tl.where(big_a < 0, -1.0, 0.0))
        y_sign = p / den * sign
        gx = g * (dp - y_sign * (q + x * dq)) / den
        if COEFFS:
            w = g / den
            v = -w * y_sign
            power = w * 0.0 + 1.0
            for i in tl.static_range(M + 1):
                _partial(parts, i, w * power)
                power = power * x
            power = x
            for j in tl.static_range(DEG):
                _partial(parts, M + 1 + j, v * power)
                power = power * x
    if MIX:
        m = _load(a_ptr, SIZE, DTYPE)
        gx += g * m * tl.where(x > 0, 1.0, 0.0)
        if COEFFS:
            _partial(parts, SIZE, g * tl.maximum(x, 0.0))
    tl.store(gx_ptr + offs, gx.to(gx_ptr.dtype.element_ty), mask=mask)
