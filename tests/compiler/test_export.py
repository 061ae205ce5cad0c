"""Rendered modules: standalone, equal to the compiled module, and torch.compile-able.

Writing the files and the JSON record beside them is afsearch.results' job
(tests/results/test_export.py); here the rendered source is written by the test itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch

from afsearch.activations import build, list_families
from afsearch.compiler import CompiledActivation, render_module
from afsearch.exceptions import AfsearchError
from afsearch.expr import Candidate
from tests.activations.conftest import CONFIGS

# A representative subset keeps the fresh-interpreter test quick; all configs render below.
EXPORTED = [
    "swish-trainable",
    "gelu",
    "elu-trainable",
    "mish",
    "softplus",
    "prelu",
    "xielu",
    "slaf-chebyshev-scale",
    "slaf-legendre-none",
    "slaf-power-scale",
    "slaf-fourier-scale",
    "slaf-rbf-tanh",
    "rational-trainable",
    "ensemble-softmax",
    "grammar-nested",
    "apl-4",
    "ulu",
    "aulu",
    "taaf-tanh",
    "lslu-series",
    "grammar-binary-div",
    "grammar-unary-sinc",
    "standard",
]
BY_NAME = dict(CONFIGS)

RUNNER = textwrap.dedent(
    """
    import importlib.abc, importlib.util, json, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "afsearch" or name.startswith("afsearch."):
                raise ImportError("afsearch must not be needed by an exported module")
            return None

    sys.meta_path.insert(0, Block())
    import torch
    torch.set_default_dtype(torch.float64)
    out = {}
    for name, path in json.loads(sys.argv[1]).items():
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        act = getattr(mod, name)(trainable=True)
        x = torch.linspace(-3.1, 2.9, 41, requires_grad=True)
        y = act(x)
        (y * torch.cos(x)).sum().backward()
        grads = {n: float(p.grad) for n, p in act.named_parameters()}
        out[name] = {"y": y.tolist(), "dx": x.grad.tolist(), "dp": grads}
    print(json.dumps(out))
    """
)


def write_module(cand: Candidate, name: str, folder: Path) -> Path:
    """Render ``cand`` as class ``name`` into ``folder/<name>.py``."""
    path = folder / f"{name}.py"
    path.write_text(render_module(cand, name))
    return path


@pytest.mark.slow
def test_exported_modules_match_compiled_modules_in_a_fresh_interpreter(tmp_path: Path) -> None:
    paths = {}
    expected = {}
    for i, name in enumerate(EXPORTED):
        cand = build(BY_NAME[name])
        cls = f"Act{i}"
        paths[cls] = str(write_module(cand, cls, tmp_path))
        ref = CompiledActivation(cand, torch.float64)
        for p in ref.parameters():
            p.requires_grad_(False)
        for n in ref.names:
            getattr(ref, f"p_{n}").requires_grad_(True)
        x = torch.linspace(-3.1, 2.9, 41, dtype=torch.float64, requires_grad=True)
        y = ref(x)
        (y * torch.cos(x)).sum().backward()
        grads = {f"p_{n}": float(getattr(ref, f"p_{n}").grad) for n in ref.names}
        expected[cls] = (name, y.tolist(), x.grad.tolist(), grads)
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(paths)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    for cls, (name, y, dx, dp) in expected.items():
        torch.testing.assert_close(torch.tensor(got[cls]["y"]), torch.tensor(y), msg=name)
        torch.testing.assert_close(torch.tensor(got[cls]["dx"]), torch.tensor(dx), msg=name)
        assert got[cls]["dp"].keys() == dp.keys(), name
        for k in dp:
            assert got[cls]["dp"][k] == pytest.approx(dp[k], rel=1e-7, abs=1e-9), (name, k)


@pytest.mark.parametrize(("name", "config"), CONFIGS, ids=[n for n, _ in CONFIGS])
def test_every_config_renders_valid_python(name: str, config: dict) -> None:
    source = render_module(build(config), "Exported")
    compile(source, "<exported>", "exec")  # syntax only; nothing is executed here
    assert "import afsearch" not in source and "from afsearch" not in source


def _load_exported(config: dict, name: str, folder: Path) -> tuple[torch.nn.Module, Any]:
    """Export ``config`` as class ``name`` into ``folder`` and import the generated file."""
    import importlib.util

    cand = build(config)
    spec = importlib.util.spec_from_file_location(name, write_module(cand, name, folder))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, name)(), cand


@pytest.mark.slow
def test_exported_module_works_under_torch_compile(tmp_path: Path) -> None:
    act, cand = _load_exported(
        {"family": "swish", "beta": 1.3, "trainable": True}, "SwishC", tmp_path
    )
    compiled = torch.compile(act)
    x = torch.randn(64, requires_grad=True)
    y = compiled(x)
    y.sum().backward()
    x2 = x.detach().clone().requires_grad_(True)
    ref = CompiledActivation(cand)
    ref(x2).sum().backward()
    torch.testing.assert_close(y, ref(x2))
    torch.testing.assert_close(x.grad, x2.grad)


@pytest.mark.parametrize(
    "bad", ["1abc", "class", "a-b", "x" * 70, "os.system", "", "torch", "safe_exp", "x"]
)
def test_bad_class_names_are_refused(bad: str) -> None:
    cand = build({"family": "swish"})
    with pytest.raises(AfsearchError, match="class name"):
        render_module(cand, bad)


def test_exported_module_traces_and_exports(tmp_path: Path) -> None:
    act, _ = _load_exported({"family": "elu", "alpha": 0.7}, "EluT", tmp_path)
    x = torch.randn(32)
    traced = torch.jit.trace(act, (x,))
    torch.testing.assert_close(traced(x), act(x))
    exported = torch.export.export(act, (x,))
    torch.testing.assert_close(exported.module()(x), act(x))


# The subset above plus the default config of every family it leaves out (new ones included).
ONNX_CASES = EXPORTED + sorted(
    {f.name for f in list_families()} - {BY_NAME[n]["family"] for n in EXPORTED}
)


@pytest.mark.slow
@pytest.mark.parametrize("name", ONNX_CASES)
def test_exported_module_runs_in_onnx_runtime(name: str, tmp_path: Path) -> None:
    import warnings

    import onnxruntime

    act, _ = _load_exported(BY_NAME[name], "OnnxAct", tmp_path)
    x = torch.linspace(-6.0, 6.0, 2000).reshape(125, 16)
    path = tmp_path / "act.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            act,
            (x,),
            str(path),
            dynamo=True,
            dynamic_shapes=({0: torch.export.Dim.DYNAMIC},),
            verbose=False,
        )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    # Another batch size than the one traced: the graph is not tied to it.
    x2 = torch.linspace(-8.0, 8.0, 33 * 16).reshape(33, 16)
    (got,) = session.run(None, {session.get_inputs()[0].name: x2.numpy()})
    torch.testing.assert_close(torch.from_numpy(got), act(x2).detach(), rtol=1e-5, atol=1e-5)


def test_exported_module_carries_only_the_kernels_it_uses() -> None:
    from afsearch.compiler import _runtime

    mish = render_module(build({"family": "mish"}), "MishAct")
    defined = {n for n in vars(_runtime) if callable(vars(_runtime)[n]) and not n.startswith("__")}
    carried = {n for n in defined if f"def {n}(" in mish}
    assert carried == {"softplus"}, carried
    slaf = render_module(build({"family": "slaf", "basis": "chebyshev", "degree": 4}), "Cheb")
    assert "def clenshaw_chebyshev(" in slaf and "def horner(" not in slaf
    # What a kernel needs comes along: safe_exp uses the per-dtype limits.
    elu = render_module(build({"family": "elu"}), "EluAct")
    assert "def safe_exp(" in elu and "_EXP_MAX = {" in elu and "def _exp_limit(" in elu
    assert len(mish.splitlines()) < 120, len(mish.splitlines())


@pytest.mark.parametrize(
    "config",
    [
        {"family": "swish", "beta": 1.3, "trainable": True},
        {"family": "gelu"},  # no trainable parameter: runs as PyTorch's own op
        {"family": "swish", "beta": 1.3, "trainable": True, "per_channel": True},
    ],
    ids=["trainable", "direct", "per-channel"],
)
def test_exported_module_takes_timms_inplace_and_ignores_it(config: dict, tmp_path: Path) -> None:
    import importlib.util

    cand = build(config)
    path = write_module(cand, "Timmable", tmp_path)
    spec = importlib.util.spec_from_file_location("Timmable", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cls = mod.Timmable
    x = torch.linspace(-3.0, 3.0, 24).reshape(2, 3, 4)
    kwargs = {"channels": 3} if cand.per_channel else {}
    plain, given = cls(**kwargs), cls(inplace=True, **kwargs)
    x_before = x.clone()
    torch.testing.assert_close(given(x), plain(x))
    torch.testing.assert_close(x, x_before)  # the input is left as it was
    assert cls(inplace=False, trainable=False).state_dict().keys() == plain.state_dict().keys()
    assert "inplace" in cls.__doc__ and "inplace=True" in mod.__doc__


def test_compiled_activation_takes_timms_inplace_and_ignores_it() -> None:
    cand = build({"family": "elu", "alpha": 0.7, "trainable": True})
    x = torch.randn(16)
    x_before = x.clone()
    got = CompiledActivation(cand, inplace=True)(x)
    torch.testing.assert_close(got, CompiledActivation(cand)(x))
    torch.testing.assert_close(x, x_before)
