"""SLAF: self-learnable activation functions as basis expansions (Goyal et al. 2019)."""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import sympy

from afsearch.activations._fit import fit_linear
from afsearch.activations._registry import BaseFamily, register_family
from afsearch.exceptions import AfsearchError, choices
from afsearch.expr import KNOWN, Param, X, chebyshev_series, legendre_series, power_series, symbol

if TYPE_CHECKING:
    import numpy as np

BASES = ("power", "chebyshev", "legendre", "fourier", "rbf")
NORMALIZE = ("scale", "none", "tanh")
TAILS = ("linear", "none")
MAX_DEGREE = {"power": 16, "chebyshev": 16, "legendre": 16, "fourier": 16, "rbf": 32}


@register_family
class SLAF(BaseFamily):
    """f(x) = sum_i a_i phi_i(u) [+ m * max(x, 0)], u the (normalised) input.

    Goyal, Goyal & Leibe 2019 (arXiv:1906.09529) use the power basis phi_i(u) = u**i on the raw
    input; afsearch adds Chebyshev, Legendre, Fourier and Gaussian-RBF bases and input
    normalisation. Choices where the paper is silent:

    - ``normalize``: ``scale`` (default) uses u = x / interval, so the fitting interval maps to
      [-1, 1] where the orthogonal bases are well conditioned; ``none`` is the paper's u = x;
      ``tanh`` uses u = tanh(x).
    - ``fourier``: a0 + sum_k a_k cos(k pi u / (2h)) + b_k sin(k pi u / (2h)), h the half-width
      of the u-interval, so one period spans twice the interval and the fit is not forced to be
      periodic across it.
    - ``rbf``: a0 + a1 u + sum_k r_k exp(-((u - c_k)/w)**2) with ``degree`` centres c_k evenly
      over the u-interval and w their spacing; the affine part gives the tails a slope, which
      bumps alone cannot (they decay to zero away from the interval).
    - ``relu_mix``: the paper recommends combining SLAF with ReLU when it trains poorly;
      afsearch adds m * max(x, 0) with m trainable (initial value ``relu_mix``), fitting the
      basis to the residual f - m*relu.
    - coefficients are given (``coefficients``) or fitted by least squares to the activation
      named by ``init`` on [-interval, interval]; polynomial bases are evaluated by Horner's
      rule or Clenshaw's recurrence in the compiled module.
    - ``tail``: a polynomial grows without bound outside the interval it was fitted on (a
      degree-8 fit to GELU on [-3, 3] gives f(10) = -14,500 and can wreck a training). With
      ``linear`` (the default) the power, Chebyshev and Legendre expansions continue outside
      [-interval, interval] along their tangent at the end: f(x) = p(c) + p'(c) (x - c) with
      c = clamp(x, -interval, interval), so f is p inside and its first derivative is
      continuous; ``none`` keeps the bare polynomial, as in the paper. Fourier, RBF and
      ``normalize: tanh`` expansions are bounded or linear outside already and are unchanged.
    """

    name = "slaf"
    kind = "series"
    formula = "sum_i a_i * phi_i(u) [+ m * max(x, 0)]"
    citation = "Goyal, Goyal & Leibe 2019, arXiv:1906.09529"
    options = {
        "basis": "power",
        "degree": 4,
        "coefficients": None,
        "init": "gelu",
        "interval": 3.0,
        "relu_mix": None,
        "normalize": "scale",
        "tail": "linear",
    }

    def expression(self, params, options, trainable):
        basis, degree = options["basis"], options["degree"]
        if basis not in BASES:
            raise AfsearchError(f"Unknown SLAF basis {basis!r}; valid bases are {choices(BASES)}.")
        hi = MAX_DEGREE[basis]
        if isinstance(degree, bool) or not isinstance(degree, int) or not 1 <= degree <= hi:
            raise AfsearchError(
                f"SLAF 'degree' for basis {basis!r} must be an integer from 1 to {hi}, "
                f"got {degree!r}."
            )
        normalize = options["normalize"]
        if normalize not in NORMALIZE:
            raise AfsearchError(
                f"SLAF 'normalize' must be {choices(NORMALIZE)}, got {normalize!r}."
            )
        interval = options["interval"]
        if (
            isinstance(interval, bool)
            or not isinstance(interval, (int, float))
            or not (0 < interval <= 100)
        ):
            raise AfsearchError(f"SLAF 'interval' must be a number in (0, 100], got {interval!r}.")
        init = options["init"]
        if options["coefficients"] is None and init not in KNOWN:
            raise AfsearchError(
                f"SLAF 'init' must name an activation to fit, one of {choices(KNOWN)}; "
                f"got {init!r}."
            )
        mix = options["relu_mix"]
        if mix is not None and (isinstance(mix, bool) or not isinstance(mix, (int, float))):
            raise AfsearchError(f"SLAF 'relu_mix' must be a number or null, got {mix!r}.")

        expansion = _Expansion(basis, degree, normalize, float(interval))
        names = expansion.names()
        coeffs = options["coefficients"]
        if coeffs is None:
            coeffs = _fitted(basis, degree, normalize, float(interval), str(init), float(mix or 0))
        if not isinstance(coeffs, (list, tuple)) or len(coeffs) != len(names):
            raise AfsearchError(
                f"SLAF basis {basis!r} of degree {degree} needs {len(names)} coefficients, "
                f"got {coeffs!r}."
            )
        train = trainable.get("*", True)
        extra = {n: Param(c, train) for n, c in zip(names, coeffs)}
        expr = expansion.expression([symbol(n) for n in names])
        tail = options["tail"]
        if tail not in TAILS:
            raise AfsearchError(f"SLAF 'tail' must be {choices(TAILS)}, got {tail!r}.")
        if tail == "linear" and expansion.unbounded():
            edge = sympy.Float(float(interval))
            c = sympy.Max(-edge, sympy.Min(X, edge))
            expr = expr.xreplace({X: c}) + sympy.diff(expr, X).xreplace({X: c}) * (X - c)
        if mix is not None:
            extra["m"] = Param(float(mix), train)
            expr = expr + symbol("m") * sympy.Max(X, 0)
        return expr, extra


@functools.lru_cache(maxsize=512)
def _fitted(
    basis: str, degree: int, normalize: str, interval: float, init: str, mix: float
) -> tuple[float, ...]:
    """Least-squares coefficients, cached: a search builds the same setting many times."""
    expansion = _Expansion(basis, degree, normalize, interval)
    return tuple(fit_linear(expansion.design, init, interval, mix))


class _Expansion:
    def __init__(self, basis: str, degree: int, normalize: str, interval: float) -> None:
        self.basis, self.degree, self.normalize, self.interval = basis, degree, normalize, interval
        self.h = {"scale": 1.0, "none": interval, "tanh": math.tanh(interval)}[normalize]

    def unbounded(self) -> bool:
        """Whether the expansion grows faster than linearly outside the interval."""
        return self.basis in ("power", "chebyshev", "legendre") and self.normalize != "tanh"

    def names(self) -> list[str]:
        d = self.degree
        if self.basis == "fourier":
            return ["a0"] + [f"a{k}" for k in range(1, d + 1)] + [f"b{k}" for k in range(1, d + 1)]
        if self.basis == "rbf":
            return ["a0", "a1"] + [f"r{k}" for k in range(d)]
        return [f"a{k}" for k in range(d + 1)]

    def u_symbolic(self) -> Any:
        if self.normalize == "scale":
            return X / sympy.nsimplify(self.interval)
        if self.normalize == "tanh":
            return sympy.tanh(X)
        return X

    def u_numeric(self, xs: np.ndarray) -> np.ndarray:
        import numpy as np

        if self.normalize == "scale":
            return xs / self.interval
        if self.normalize == "tanh":
            return np.tanh(xs)
        return xs

    def centres(self) -> tuple[np.ndarray, float]:
        import numpy as np

        d = self.degree
        c = np.linspace(-self.h, self.h, d) if d > 1 else np.zeros(1)
        width = 2 * self.h / (d - 1) if d > 1 else self.h
        return c, width

    def expression(self, coeffs: list[Any]) -> Any:
        u, d = self.u_symbolic(), self.degree
        if self.basis == "power":
            return power_series(u, *coeffs)
        if self.basis == "chebyshev":
            return chebyshev_series(u, *coeffs)
        if self.basis == "legendre":
            return legendre_series(u, *coeffs)
        if self.basis == "fourier":
            w = sympy.pi / (2 * sympy.Float(self.h))
            terms = [coeffs[0]]
            for k in range(1, d + 1):
                terms.append(coeffs[k] * sympy.cos(k * w * u))
                terms.append(coeffs[d + k] * sympy.sin(k * w * u))
            return sympy.Add(*terms)
        centres, width = self.centres()
        bumps = [
            r * sympy.exp(-(((u - sympy.Float(c)) / sympy.Float(width)) ** 2))
            for r, c in zip(coeffs[2:], centres)
        ]
        return sympy.Add(coeffs[0], coeffs[1] * u, *bumps)

    def design(self, xs: np.ndarray) -> np.ndarray:
        import numpy as np

        u, d = self.u_numeric(xs), self.degree
        if self.basis == "power":
            return np.polynomial.polynomial.polyvander(u, d)
        if self.basis == "chebyshev":
            return np.polynomial.chebyshev.chebvander(u, d)
        if self.basis == "legendre":
            return np.polynomial.legendre.legvander(u, d)
        if self.basis == "fourier":
            w = math.pi / (2 * self.h)
            k = np.arange(1, d + 1)
            cos, sin = np.cos(np.outer(u, k) * w), np.sin(np.outer(u, k) * w)
            return np.hstack([np.ones((len(u), 1)), cos, sin])
        centres, width = self.centres()
        bumps = np.exp(-(((u[:, None] - centres[None, :]) / width) ** 2))
        return np.hstack([np.ones((len(u), 1)), u[:, None], bumps])
