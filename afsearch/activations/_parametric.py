"""Parametric families: each a fixed formula with a few scalar parameters."""

from __future__ import annotations

import math
from typing import Any

import sympy

from afsearch.activations._registry import BaseFamily, ParamSpec, register_family
from afsearch.exceptions import AfsearchError, choices
from afsearch.expr import (
    KNOWN,
    SELU_ALPHA,
    SELU_SCALE,
    Param,
    X,
    known,
    parse_expression,
    power_series,
    sigmoid,
    softplus,
    symbol,
)

P = symbol


def _inverse_softplus(y: float) -> float:
    return y + math.log(-math.expm1(-y))


@register_family
class Standard(BaseFamily):
    """A standard activation by name, with no parameters: the baselines."""

    name = "standard"
    kind = "named"
    formula = "one of " + ", ".join(sorted(KNOWN))
    options = {"name": "relu"}
    can_train = False

    def expression(self, params, options, trainable):
        return known(str(options["name"]), X), {}


@register_family
class Expression(BaseFamily):
    """An expression written by the user, parsed by the allow-list parser.

    ``params`` maps names to numbers, or to ``{value, trainable}``.
    """

    name = "expression"
    kind = "named"
    formula = "any allow-listed expression in x"
    options = {"expression": "x", "params": {}}

    def label(self, config, expression=None):
        return str(expression or config.get("expression", self.name))

    def expression(self, params, options, trainable):
        raw = options.get("params") or {}
        if not isinstance(raw, dict):
            raise AfsearchError(f"'params' of family 'expression' must be a mapping, got {raw!r}.")
        extra: dict[str, Param] = {}
        for name, spec in raw.items():
            if isinstance(spec, dict):
                extra[str(name)] = Param(spec.get("value", math.nan), bool(spec.get("trainable")))
            else:
                extra[str(name)] = Param(spec, bool(trainable.get("*", False)))
        expr = parse_expression(str(options["expression"]), params=extra)
        return expr, extra


@register_family
class Swish(BaseFamily):
    """Swish, x*sigmoid(beta*x) (Ramachandran et al. 2017); beta=1 is SiLU."""

    name = "swish"
    formula = "x * sigmoid(beta*x)"
    citation = "Ramachandran, Zoph & Le 2017, arXiv:1710.05941"
    params = (ParamSpec("beta", 1.0, 0.01, 100.0, log=True),)

    def expression(self, params, options, trainable):
        return X * sigmoid(P("beta") * X), {}


@register_family
class PReLU(BaseFamily):
    """Parametric ReLU, max(0,x) + a*min(0,x) (He et al. 2015); ``a`` trains by default."""

    name = "prelu"
    formula = "max(0, x) + a * min(0, x)"
    citation = "He et al. 2015, arXiv:1502.01852"
    params = (ParamSpec("a", 0.25, -1.0, 1.0, trainable=True),)

    def expression(self, params, options, trainable):
        return sympy.Max(X, 0) + P("a") * sympy.Min(X, 0), {}


@register_family
class ELU(BaseFamily):
    """ELU: x for x>0, alpha*(exp(x)-1) otherwise (Clevert et al. 2015)."""

    name = "elu"
    formula = "x if x > 0 else alpha*(exp(x) - 1)"
    citation = "Clevert, Unterthiner & Hochreiter 2015, arXiv:1511.07289"
    params = (ParamSpec("alpha", 1.0, 0.0, 10.0),)

    def expression(self, params, options, trainable):
        return sympy.Piecewise((X, X > 0), (P("alpha") * (sympy.exp(X) - 1), True)), {}


@register_family
class SELU(BaseFamily):
    """SELU: scale * ELU_alpha(x) with the self-normalising constants (Klambauer et al. 2017)."""

    name = "selu"
    formula = "scale * (x if x > 0 else alpha*(exp(x) - 1))"
    citation = "Klambauer et al. 2017, arXiv:1706.02515"
    params = (
        ParamSpec("alpha", SELU_ALPHA, 0.0, 10.0),
        ParamSpec("scale", SELU_SCALE, 0.0, 10.0),
    )

    def expression(self, params, options, trainable):
        elu = sympy.Piecewise((X, X > 0), (P("alpha") * (sympy.exp(X) - 1), True))
        return P("scale") * elu, {}


@register_family
class GELU(BaseFamily):
    """GELU, x*Phi(beta*x) with the normal CDF (Hendrycks & Gimpel 2016); beta=1 is GELU.

    ``beta`` is afsearch's addition, a sharpness in the manner of Swish's beta.
    """

    name = "gelu"
    formula = "x * (1 + erf(beta*x/sqrt(2))) / 2"
    citation = "Hendrycks & Gimpel 2016, arXiv:1606.08415"
    params = (ParamSpec("beta", 1.0, 0.01, 100.0, log=True),)

    def expression(self, params, options, trainable):
        return X * (1 + sympy.erf(P("beta") * X / sympy.sqrt(2))) / 2, {}


@register_family
class Mish(BaseFamily):
    """Mish, x*tanh(softplus(beta*x)/beta) (Misra 2019); beta=1 is Mish.

    ``beta`` is afsearch's addition: the sharpness of the softplus, as in softplus-beta.
    """

    name = "mish"
    formula = "x * tanh(softplus(beta*x)/beta)"
    citation = "Misra 2019, arXiv:1908.08681"
    params = (ParamSpec("beta", 1.0, 0.01, 100.0, log=True),)

    def expression(self, params, options, trainable):
        b = P("beta")
        if params["beta"].value == 1.0 and not params["beta"].trainable:
            return X * sympy.tanh(softplus(X)), {}
        return X * sympy.tanh(softplus(b * X) / b), {}


@register_family
class Softplus(BaseFamily):
    """Softplus with sharpness beta, log(1+exp(beta*x))/beta (as torch.nn.Softplus)."""

    name = "softplus"
    formula = "softplus(beta*x) / beta"
    citation = "Dugas et al. 2001"
    params = (ParamSpec("beta", 1.0, 0.01, 100.0, log=True),)

    def expression(self, params, options, trainable):
        if params["beta"].value == 1.0 and not params["beta"].trainable:
            return softplus(X), {}
        return softplus(P("beta") * X) / P("beta"), {}


def _ulu_half(alpha: Any) -> Any:
    return X * (sympy.tanh(alpha * X) + 1) / 2


@register_family
class ULU(BaseFamily):
    """ULU: f(x; alpha1) for x<0 and f(x; alpha2) for x>=0, f(x; a) = x*(tanh(a*x)+1)/2.

    Both alphas train by default.
    """

    name = "ulu"
    formula = "f(x; alpha1) if x < 0 else f(x; alpha2), f(x; a) = 0.5*x*(tanh(a*x) + 1)"
    params = (
        ParamSpec("alpha1", 1.0, 0.0, 10.0, trainable=True),
        ParamSpec("alpha2", 1.0, 0.0, 10.0, trainable=True),
    )

    def expression(self, params, options, trainable):
        return sympy.Piecewise((_ulu_half(P("alpha1")), X < 0), (_ulu_half(P("alpha2")), True)), {}


@register_family
class AULU(BaseFamily):
    """AULU: ULU with alpha1 = beta1**2 and alpha2 = beta2**2, so the slopes stay non-negative."""

    name = "aulu"
    formula = "ULU with alpha1 = beta1**2, alpha2 = beta2**2"
    params = (
        ParamSpec("beta1", 1.0, -10.0, 10.0, trainable=True),
        ParamSpec("beta2", 1.0, -10.0, 10.0, trainable=True),
    )

    def expression(self, params, options, trainable):
        return sympy.Piecewise(
            (_ulu_half(P("beta1") ** 2), X < 0), (_ulu_half(P("beta2") ** 2), True)
        ), {}


@register_family
class XIELU(BaseFamily):
    """xIELU (Huang 2024, arXiv:2411.13010), the integral of trainable affine ELU transforms.

    For x > 0: alpha_p*x**2 + beta*x; for x <= 0: alpha_n*(exp(min(x, eps)) - 1 - x) + beta*x,
    with alpha_p = softplus(ap) and alpha_n = beta + softplus(an) so both stay positive, as in
    the paper. ``ap``/``an`` are the raw trainable parameters; their defaults give the paper's
    initial alpha_p = alpha_n = 0.8 with beta = 0.5 and eps = -1e-6.
    """

    name = "xielu"
    formula = "ap'*x**2 + beta*x if x > 0 else an'*(exp(min(x, eps)) - 1 - x) + beta*x"
    citation = "Huang 2024, arXiv:2411.13010"
    params = (
        ParamSpec("ap", _inverse_softplus(0.8), -10.0, 10.0, trainable=True),
        ParamSpec("an", _inverse_softplus(0.3), -10.0, 10.0, trainable=True),
        ParamSpec("beta", 0.5, 0.0, 2.0),
    )
    # A constant, not a parameter: its gradient is zero almost everywhere.
    options = {"eps": -1e-6}

    def expression(self, params, options, trainable):
        eps = options["eps"]
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not -1.0 <= eps <= 0.0:
            raise AfsearchError(
                f"'eps' of family 'xielu' must be a number in [-1, 0], got {eps!r}."
            )
        beta, eps = P("beta"), sympy.Float(eps)
        alpha_p = softplus(P("ap"))
        alpha_n = beta + softplus(P("an"))
        pos = alpha_p * X**2 + beta * X
        neg = alpha_n * (sympy.exp(sympy.Min(X, eps)) - 1 - X) + beta * X
        return sympy.Piecewise((pos, X > 0), (neg, True)), {}


def _check_names(family: str, key: str, names: Any) -> list[str]:
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, (list, tuple)) or not names:
        raise AfsearchError(f"{key!r} of family {family!r} must be a non-empty list of names.")
    for n in names:
        if n not in KNOWN:
            raise AfsearchError(
                f"{key!r} of family {family!r} has unknown activation {n!r}; valid names are "
                f"{choices(KNOWN)}."
            )
    return [str(n) for n in names]


@register_family
class LSLU(BaseFamily):
    """Learnable series linear units (Feng et al. 2024, arXiv:2409.08283).

    The paper describes a series F(x) = sum_n f_n(x) + B of base activations controlled by a
    learnable amplitude theta and slope omega; it gives no closed form for where theta and
    omega enter. afsearch uses S(x) = theta * (sum_n f_n(x) + b) + omega * x, which reduces to
    the base series at theta=1, omega=b=0. ``bases`` lists the f_n.
    """

    name = "lslu"
    formula = "theta * (sum_n f_n(x) + b) + omega * x"
    citation = "Feng et al. 2024, arXiv:2409.08283"
    params = (
        ParamSpec("theta", 1.0, -10.0, 10.0, trainable=True),
        ParamSpec("omega", 0.0, -10.0, 10.0, trainable=True),
        ParamSpec("b", 0.0, -10.0, 10.0, trainable=True),
    )
    options = {"bases": ("relu",)}

    def expression(self, params, options, trainable):
        bases = _check_names(self.name, "bases", options["bases"])
        series = sympy.Add(*[known(n, X) for n in bases])
        return P("theta") * (series + P("b")) + P("omega") * X, {}


@register_family
class TAAF(BaseFamily):
    """Transformative adaptive activation (Kunc & Klema 2019): a*g(b*x + c) + d around ``base``."""

    name = "taaf"
    formula = "a * g(b*x + c) + d"
    citation = "Kunc & Klema 2019, arXiv:1901.09849"
    params = (
        ParamSpec("a", 1.0, -10.0, 10.0, trainable=True),
        ParamSpec("b", 1.0, -10.0, 10.0, trainable=True),
        ParamSpec("c", 0.0, -10.0, 10.0, trainable=True),
        ParamSpec("d", 0.0, -10.0, 10.0, trainable=True),
    )
    options = {"base": "relu"}

    def expression(self, params, options, trainable):
        (base,) = _check_names(self.name, "base", options["base"])
        inner = P("b") * X + P("c")
        return P("a") * known(base, inner) + P("d"), {}


@register_family
class APL(BaseFamily):
    """Adaptive piecewise linear units (Agostinelli et al. 2014).

    max(0, x) + sum_s a_s * max(0, -x + b_s) with S hinges. The paper initialises a_s and b_s
    at random; afsearch starts deterministically with a_s = ``slope`` and hinges b_s spread
    evenly over [-1, 1], so a candidate's id does not depend on a random draw.
    """

    name = "apl"
    formula = "max(0, x) + sum_s a_s * max(0, -x + b_s)"
    citation = "Agostinelli et al. 2014, arXiv:1412.6830"
    params = (ParamSpec("slope", 0.2, -5.0, 5.0),)
    options = {"hinges": 2}

    def expression(self, params, options, trainable):
        s = options["hinges"]
        if isinstance(s, bool) or not isinstance(s, int) or not 1 <= s <= 16:
            raise AfsearchError(f"'hinges' of family 'apl' must be an integer 1..16, got {s!r}.")
        train = trainable.get("*", True)
        hinges = [0.0] if s == 1 else [-1 + 2 * i / (s - 1) for i in range(s)]
        extra: dict[str, Param] = {}
        expr: Any = sympy.Max(X, 0)
        for i, b in enumerate(hinges):
            extra[f"a{i}"] = Param(params["slope"].value, train)
            extra[f"b{i}"] = Param(b, train)
            expr += P(f"a{i}") * sympy.Max(-X + P(f"b{i}"), 0)
        params.pop("slope")
        return expr, extra


@register_family
class Rational(BaseFamily):
    """Padé activation units (Molina et al. 2020): P(x) / (1 + |sum_{k=1..n} b_k x**k|).

    The safe denominator (the paper's variant that is never below 1) keeps it pole-free. With
    ``init`` naming an activation, coefficients start as a least-squares fit to it on
    [-``interval``, ``interval``], as the paper starts from a fit to leaky ReLU.
    """

    name = "rational"
    kind = "rational"
    formula = "(a0 + a1 x + ... + am x^m) / (1 + |b1 x + ... + bn x^n|)"
    citation = "Molina, Schramowski & Kersting 2020, arXiv:1907.06732"
    options = {
        "m": 5,
        "n": 4,
        "init": "leaky_relu",
        "interval": 3.0,
        "numerator": None,
        "denominator": None,
    }

    def expression(self, params, options, trainable):
        from afsearch.activations._fit import fit_rational

        m, n = options["m"], options["n"]
        for key, v in (("m", m), ("n", n)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 12:
                raise AfsearchError(
                    f"{key!r} of family 'rational' must be an integer 0..12, got {v!r}."
                )
        if n < 1:
            raise AfsearchError("'n' of family 'rational' must be at least 1.")
        num, den = options["numerator"], options["denominator"]
        if num is None or den is None:
            num, den = fit_rational(str(options["init"]), m, n, float(options["interval"]))
        if len(num) != m + 1 or len(den) != n:
            raise AfsearchError(
                f"Family 'rational' needs {m + 1} numerator and {n} denominator coefficients, "
                f"got {len(num)} and {len(den)}."
            )
        train = trainable.get("*", True)
        extra = {f"a{i}": Param(float(v), train) for i, v in enumerate(num)}
        extra |= {f"b{j + 1}": Param(float(v), train) for j, v in enumerate(den)}
        p_num = power_series(X, *[P(f"a{i}") for i in range(m + 1)])
        q_in = power_series(X, *[P(f"b{j + 1}") for j in range(n)])
        return p_num / (1 + sympy.Abs(X * q_in)), extra
