"""The operators a distilled formula is made of: Ramachandran et al.'s unary operators (the
grammar family's, :data:`afsearch.activations` ``grammar``) and the standard activations, each a
NumPy kernel and the text the allow-list parser reads back.

Each operator is used under an affine map, ``a*f(b*x + c) + d`` (pykan's ``auto_symbolic``);
where the map has a redundant scalar the operator drops it (``abs(b*x + c)`` is
``|b|*abs(x + c/b)``, ``exp(b*x + c)`` is ``exp(c)*exp(b*x)``), so that the fit stays well
posed. :data:`PRIMITIVES` is in order of preference: of two operators that fit a curve equally
well (``tanh(x)`` is ``2*sigmoid(2*x) - 1``) the earlier is shown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from scipy import special

from afsearch.exceptions import AfsearchError, choices

#: The eps that the grammar adds where an operator is singular: log(|u| + eps), sqrt(|u| + eps).
EPS = 1e-6
#: How a primitive's argument is mapped from its input z: ``b*z + c``, ``z + c``, ``b*z``, z.
AFFINE, SHIFT, SCALE, NONE = "affine", "shift", "scale", "none"
_WIDTH = {AFFINE: 2, SHIFT: 1, SCALE: 1, NONE: 0}
# exp, sinh and cosh are cut off where float64 overflows; a fit never goes there on purpose.
_BIG = 60.0


@dataclass(frozen=True)
class Primitive:
    """One unary operator: its NumPy kernel, its text around an argument, its affine map."""

    name: str
    kernel: Callable[[np.ndarray], np.ndarray]
    render: Callable[[str], str]
    inner: str = AFFINE

    @property
    def width(self) -> int:
        """How many scalars its argument's map has (b and c: 2)."""
        return _WIDTH[self.inner]

    def argument(self, theta: np.ndarray, z: np.ndarray) -> np.ndarray:
        """The argument ``b*z + c`` (or its reduced form) for the scalars ``theta``; ``theta``
        may carry leading grid dimensions."""
        if self.inner == AFFINE:
            return theta[..., 0:1] * z + theta[..., 1:2]
        if self.inner == SHIFT:
            return z + theta[..., 0:1]
        if self.inner == SCALE:
            return theta[..., 0:1] * z
        return np.broadcast_to(z, theta.shape[:-1] + z.shape[-1:])

    def __call__(self, theta: np.ndarray, z: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.kernel(self.argument(theta, z))

    def text(self, theta: tuple[float, ...], arg: str, digits: int) -> str:
        """The operator applied to ``arg`` under its map, as parseable text."""
        if self.inner == AFFINE:
            inner = plus(scaled(theta[0], arg, digits), theta[1], digits)
        elif self.inner == SHIFT:
            inner = plus(arg, theta[0], digits)
        elif self.inner == SCALE:
            inner = scaled(theta[0], arg, digits)
        else:
            inner = arg
        return self.render(inner)


def number(v: float, digits: int) -> str:
    """``v`` with ``digits`` significant digits, as text Python's parser reads as a float."""
    text = f"{v:.{digits}g}"
    return text if any(ch in text for ch in ".en") else text + ".0"


def atom(text: str) -> str:
    """``text`` in parentheses unless it is a name or one whole call."""
    if re.fullmatch(r"[A-Za-z_]\w*", text):
        return text
    match = re.fullmatch(r"[A-Za-z_]\w*\((.*)\)", text)
    if match:
        depth = 0
        for ch in match.group(1):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth < 0:
                break
        else:
            if depth == 0:
                return text
    return f"({text})"


def factor(text: str) -> str:
    """``text`` in parentheses unless it can be a factor of a product as it is (no sum at its
    top level, no leading minus)."""
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and text[i : i + 3] in (" + ", " - "):
            return f"({text})"
    return f"({text})" if text.startswith("-") else text


def scaled(b: float, arg: str, digits: int) -> str:
    """``b*arg`` as text, without a factor of 1."""
    shown = number(b, digits)
    if float(shown) == 1.0:
        return arg
    if float(shown) == -1.0:
        return f"-{factor(arg)}"
    return f"{shown}*{factor(arg)}"


def plus(text: str, c: float, digits: int) -> str:
    """``text + c`` as text, without a term of 0."""
    shown = number(abs(c), digits)
    if float(shown) == 0.0:
        return text
    return f"{text} {'-' if c < 0 else '+'} {shown}"


def _sigmoid(u: np.ndarray) -> np.ndarray:
    return special.expit(u)


def _softplus(u: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, u)


def _clip(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda u: fn(np.clip(u, -_BIG, _BIG))


def _gelu(u: np.ndarray) -> np.ndarray:
    return 0.5 * u * (1.0 + special.erf(u / math.sqrt(2.0)))


def _mish(u: np.ndarray) -> np.ndarray:
    return u * np.tanh(_softplus(u))


def _call(name: str) -> Callable[[str], str]:
    return lambda s: f"{name}({s})"


def _power(k: int) -> Callable[[str], str]:
    return lambda s: f"{atom(s)}**{k}"


PRIMITIVES: dict[str, Primitive] = {}


def register_primitive(primitive: Primitive) -> Primitive:
    """Add an operator the distiller may use; a name already taken is refused."""
    if primitive.name in PRIMITIVES:
        raise AfsearchError(f"A distill operator named {primitive.name!r} is already registered.")
    PRIMITIVES[primitive.name] = primitive
    return primitive


for _p in (
    Primitive("x", lambda u: u, lambda s: s, NONE),
    Primitive("relu", lambda u: np.maximum(u, 0.0), _call("relu")),
    Primitive("abs", np.abs, _call("abs"), SHIFT),
    Primitive("square", np.square, _power(2), SHIFT),
    Primitive("cube", lambda u: u**3, _power(3), SHIFT),
    Primitive("tanh", np.tanh, _call("tanh")),
    Primitive("sigmoid", _sigmoid, _call("sigmoid")),
    Primitive("sin", np.sin, _call("sin")),
    Primitive("cos", np.cos, _call("cos")),
    Primitive("exp", _clip(np.exp), _call("exp"), SCALE),
    Primitive("softplus", _softplus, _call("softplus")),
    Primitive("silu", lambda u: u * _sigmoid(u), _call("silu")),
    Primitive("gelu", _gelu, _call("gelu")),
    Primitive("erf", special.erf, _call("erf")),
    Primitive("atan", np.arctan, _call("atan")),
    Primitive("asinh", np.arcsinh, _call("asinh")),
    Primitive("gauss", lambda u: np.exp(-np.square(u)), lambda s: f"exp(-{atom(s)}**2)"),
    Primitive("mish", _mish, _call("mish")),
    Primitive("sinc", lambda u: np.sinc(u / math.pi), _call("sinc")),
    Primitive("sinh", _clip(np.sinh), _call("sinh")),
    Primitive("cosh", _clip(np.cosh), _call("cosh")),
    Primitive("sqrt", lambda u: np.sqrt(np.abs(u) + EPS), lambda s: f"sqrt(abs({s}) + {EPS})"),
    Primitive("log", lambda u: np.log(np.abs(u) + EPS), lambda s: f"log(abs({s}) + {EPS})"),
):
    register_primitive(_p)


def primitives(names: Iterable[str] | None = None) -> list[Primitive]:
    """The operators named (all of them by default), in order of preference."""
    if names is None:
        return list(PRIMITIVES.values())
    wanted = list(names)
    unknown = [n for n in wanted if n not in PRIMITIVES]
    if unknown:
        raise AfsearchError(
            f"ops names {unknown[0]!r}, which is not a distill operator; valid names are "
            f"{choices(PRIMITIVES)}."
        )
    if not wanted:
        raise AfsearchError(f"ops must name at least one operator of {choices(PRIMITIVES)}.")
    return [PRIMITIVES[n] for n in PRIMITIVES if n in wanted]
