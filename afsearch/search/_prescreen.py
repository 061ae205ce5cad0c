"""``prescreen:``: score candidates before training them (after AQuaSurF, Bingham &
Miikkulainen 2023).

A pool of candidates is drawn from the space once, on the driver. Each is described by
features that need no training: its values and slopes at 64 fixed N(0, 1) points, the inputs a
network's pre-activations look like at initialisation. Candidates that cannot train are
filtered out first, each counted under its reason: values or slopes that are not finite on
[-10, 10] (``exp(exp(exp(x)))``), or a function that is constant there. Equal features are one
function, so the pool is deduplicated by them.

With ``features: [outputs, init]`` a candidate is also measured in the task's network at
initialisation (:mod:`afsearch.search._init_signal`: the loss after a handful of optimizer
steps, the signal that ranked best in ``benchmarks/bench_prescreen.py --signals``); a network
whose gradients are not finite, vanish or explode at initialisation is filtered with its reason.
That costs milliseconds per candidate, too much for a pool of thousands, so with ``sampler:
random`` the output features shortlist the pool's best :data:`SHORTLIST` and the init signal
ranks the shortlist.

With ``sampler: random`` each proposal is the pool's best by an acquisition over a Gaussian
process fitted to the trials the study has finished (their features against their metric):
after the ``anchors``
(standard activations, trained first so the model has fixed points to start from) and while
fewer than two trials have a value, a random pool entry. The Gaussian process and its
acquisition are in :mod:`afsearch.search._surrogate`.

With any other sampler the sampler proposes and the prescreen ranks: for each trial it asks the
sampler for ``proposals`` candidates (TPE's or CMA-ES's draws, evolution's children), drops
those that cannot train or repeat a tried function, and the acquisition picks the one trained.

With ``floor`` > 0 the acquisition keeps every kind of function of the space alive
(:mod:`afsearch.search._niches`): when a kind would have fewer than ``floor`` x 16 members (at
least one) among the 16 most recent trials, the next choice is the best of that kind, from the
pool or among the sampler's proposals (when none of them is of that kind, the best of all).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from afsearch.activations import build, kind_of, random_suggester, sample_family
from afsearch.compiler import CompiledActivation
from afsearch.exceptions import AfsearchError
from afsearch.search._history import Scored
from afsearch.search._init_signal import KEPT, InitProbe
from afsearch.search._niches import kind_due, space_kinds
from afsearch.search._surrogate import acquire, fit_predict
from afsearch.space import PrescreenOptions, SearchSpace

#: Where the features are taken: fixed N(0, 1) samples (seeded, the same for every study).
POINTS = torch.randn(64, generator=torch.Generator().manual_seed(20231), dtype=torch.float64)
#: Where a candidate must be finite, and must not be constant.
GRID = torch.linspace(-10.0, 10.0, 201, dtype=torch.float64)
CONSTANT_SPAN = 1e-6
#: A value or slope beyond this on the grid makes a network's activations explode.
EXPLODES_ABOVE = 1e6
#: Draws per pool entry asked for before giving up on a space with few distinct functions.
DRAWS_PER_ENTRY = 4
#: Pool entries the output features shortlist for the init signal to rank.
SHORTLIST = 48

NOT_FINITE = "values or slopes are not finite on [-10, 10] in float32"
EXPLODES = f"values or slopes beyond {EXPLODES_ABOVE:g} on [-10, 10]"
CONSTANT = "constant on [-10, 10]"
NOT_BUILT = "does not build"


def features(config: Mapping[str, Any]) -> np.ndarray | str:
    """The feature vector of an activation config, or why it cannot train."""
    try:
        candidate = build(config)
        module = CompiledActivation(candidate, dtype=torch.float64)
        trained_as = CompiledActivation(candidate, dtype=torch.float32)
    except AfsearchError:
        return NOT_BUILT
    # Trainings run in float32: that is where a value or a slope must stay finite.
    with torch.enable_grad():
        x32 = GRID.float().requires_grad_(True)
        y32 = trained_as(x32)
        (d32,) = torch.autograd.grad(y32.sum(), x32, allow_unused=True)
    if not torch.isfinite(y32).all() or (d32 is not None and not torch.isfinite(d32).all()):
        return NOT_FINITE
    with torch.enable_grad():
        x = torch.cat([GRID, POINTS]).requires_grad_(True)
        y = module(x)
        (dy,) = torch.autograd.grad(y.sum(), x, allow_unused=True)
    dy = torch.zeros_like(x) if dy is None else dy
    y, dy = y.detach(), dy.detach()
    if not (torch.isfinite(y).all() and torch.isfinite(dy).all()):
        return NOT_FINITE
    if float(torch.cat([y, dy]).abs().max()) > EXPLODES_ABOVE:
        return EXPLODES
    n = GRID.numel()
    if float(y[:n].max() - y[:n].min()) < CONSTANT_SPAN:
        return CONSTANT
    return torch.cat([y[n:], dy[n:]]).numpy()


def _key(vector: np.ndarray) -> bytes:
    return np.round(vector, 6).tobytes()


@dataclass
class PrescreenPool:
    """The candidates a prescreen chooses from, and what it filtered out."""

    configs: list[dict[str, Any]] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    filtered: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    draws: int = 0
    _keys: list[bytes] = field(default_factory=list, repr=False)

    @property
    def keys(self) -> list[bytes]:
        """Each entry's key (equal features, equal keys), computed once."""
        if len(self._keys) != len(self.vectors):
            self._keys = [_key(v) for v in self.vectors]
        return self._keys

    @classmethod
    def draw(cls, space: SearchSpace, size: int, rng: random.Random) -> PrescreenPool:
        pool, seen = cls(), set()
        while len(pool.configs) < size and pool.draws < DRAWS_PER_ENTRY * size:
            fs = rng.choice(space.families)
            config = sample_family(fs, random_suggester(rng), fs.label)
            pool.draws += 1
            got = features(config)
            if isinstance(got, str):
                pool.filtered[got] = pool.filtered.get(got, 0) + 1
                shown = pool.examples.setdefault(got, [])
                if len(shown) < 3:
                    shown.append(str(config)[:120])
                continue
            key = _key(got)
            if key in seen:
                continue
            seen.add(key)
            pool.configs.append(config)
            pool.vectors.append(got)
        return pool

    def summary(self) -> dict[str, Any]:
        """What ``afsearch studies --json`` shows of the prescreen."""
        return {
            "pool": len(self.configs),
            "draws": self.draws,
            "filtered": dict(self.filtered),
            "examples": dict(self.examples),
        }


class Prescreen:
    """Chooses or ranks each proposal's activation (see the module docstring)."""

    def __init__(self, space: SearchSpace, seed: int) -> None:
        assert space.prescreen is not None
        self.space, self.options = space, space.prescreen
        self.seed = seed
        self._pool: PrescreenPool | None = None
        self._probe: InitProbe | None = None
        # Features of configs already seen: each proposal looks at every trial so far.
        self._features: dict[str, np.ndarray | str] = {}
        self._init: dict[str, np.ndarray | str] = {}
        #: Candidates the init signal filtered, by reason (the pool's own filter is separate).
        self.rejected: dict[str, int] = {}
        self.examples: dict[str, list[str]] = {}
        #: Proposals of the sampler ranked so far (``sampler`` other than random).
        self.ranked = 0
        self._kinds = space_kinds(space.families)

    def __getstate__(self) -> dict[str, Any]:
        # The pool is drawn again from the seed, the same, rather than pickled with Tune's
        # experiment state.
        return {**self.__dict__, "_pool": None, "_probe": None, "_features": {}, "_init": {}}

    @property
    def uses_init(self) -> bool:
        return "init" in self.options.features

    @property
    def pool_drawn(self) -> bool:
        return self._pool is not None

    def features(self, config: Mapping[str, Any]) -> np.ndarray | str:
        """:func:`features`, remembered per config."""
        key = json.dumps(config, sort_keys=True, default=str)
        if key not in self._features:
            self._features[key] = features(config)
        return self._features[key]

    def init_features(self, config: Mapping[str, Any]) -> np.ndarray | str:
        """The kept init signal of ``config`` in the task's network, remembered per config."""
        key = json.dumps(config, sort_keys=True, default=str)
        if key not in self._init:
            if self._probe is None:
                from afsearch.space import task_settings

                self._probe = InitProbe(
                    self.space.task, task_settings(self.space, {}), search_path=self.space.folder
                )
            got = self._probe.measure(config, (KEPT,))
            self._init[key] = got if isinstance(got, str) else got[KEPT]
        return self._init[key]

    def vector(self, config: Mapping[str, Any], *, count: bool = False) -> np.ndarray | str:
        """Every feature the options name, or why ``config`` cannot train (counted in
        :attr:`rejected` with ``count``)."""
        out = self.features(config)
        if isinstance(out, str) or not self.uses_init:
            return out
        extra = self.init_features(config)
        if isinstance(extra, str):
            if count:
                self.rejected[extra] = self.rejected.get(extra, 0) + 1
                shown = self.examples.setdefault(extra, [])
                if len(shown) < 3:
                    shown.append(str(dict(config))[:120])
            return extra
        return np.concatenate([out, extra])

    @property
    def pool(self) -> PrescreenPool:
        if self._pool is None:
            self._pool = PrescreenPool.draw(self.space, self.options.pool, random.Random(self.seed))
        return self._pool

    def summary(self) -> dict[str, Any]:
        """What the study stores of the prescreen: its pool (or the proposals it ranked) and
        what it filtered, with reasons."""
        base: dict[str, Any] = (
            self._pool.summary()
            if self._pool is not None
            else {"pool": 0, "draws": 0, "filtered": {}, "examples": {}}
        )
        filtered = dict(base["filtered"])
        examples = dict(base["examples"])
        for why, n in self.rejected.items():
            filtered[why] = filtered.get(why, 0) + n
            examples.setdefault(why, self.examples.get(why, []))
        out = {**base, "filtered": filtered, "examples": examples}
        if self._pool is None:
            out.update(pool=len(self._features), draws=self.ranked)
        return out

    def _anchor(self, tried_keys: set[bytes]) -> dict[str, Any] | None:
        for name in self.options.anchors:
            anchor = {"family": "standard", "name": name}
            vector = self.features(anchor)
            if not isinstance(vector, str) and _key(vector) not in tried_keys:
                return anchor
        return None

    def _training_set(self, scored: Sequence[Scored]) -> tuple[np.ndarray, np.ndarray] | None:
        train = [(self.vector(s.activation), s.score) for s in scored]
        train = [(v, y) for v, y in train if not isinstance(v, str) and math.isfinite(y)]
        if len(train) < 2:
            return None
        return np.stack([v for v, _ in train]), np.array([s for _, s in train])

    def short_kind(self, tried: Sequence[Mapping[str, Any]]) -> str | None:
        """The kind the next choice must be of to keep the ``floor``, if any."""
        opts = self.options
        return kind_due(tried, self._kinds, opts.floor, opts.floor_window)

    def _tried_keys(self, tried: Sequence[Mapping[str, Any]]) -> set[bytes]:
        return {_key(v) for v in map(self.features, tried) if not isinstance(v, str)}

    def propose(self, tried: Sequence[Mapping[str, Any]], scored: Sequence[Scored]) -> dict:
        """The next activation config from the pool: ``tried`` are every trial's configs so
        far (their functions are not proposed again), ``scored`` those with a value."""
        opts: PrescreenOptions = self.options
        tried_keys = self._tried_keys(tried)
        anchor = self._anchor(tried_keys)
        if anchor is not None:
            return anchor
        pool = self.pool
        open_ = [i for i, k in enumerate(pool.keys) if k not in tried_keys]
        if not open_:
            raise AfsearchError(
                f"The prescreen's pool of {len(pool.configs)} functions is used up; raise "
                "prescreen.pool or num_samples fewer."
            )
        kind = self.short_kind(tried)
        if kind is not None:
            open_ = [i for i in open_ if kind_of(pool.configs[i]) == kind] or open_
        train = self._training_set(scored)
        if train is None:
            rng = random.Random(f"{self.seed}:{len(tried)}")
            order = rng.sample(open_, len(open_))
            for i in order:
                if not isinstance(self.vector(pool.configs[i], count=True), str):
                    return pool.configs[i]
            return pool.configs[order[0]]
        x, y = train
        n_out = pool.vectors[0].shape[0]
        candidates = np.stack([pool.vectors[i] for i in open_])
        mean, std = fit_predict(x[:, :n_out], y, candidates)
        score = acquire(mean, std, y, opts)
        if not self.uses_init:
            return pool.configs[open_[int(np.argmax(score))]]
        # The output features shortlist; the outputs and the init signal rank the shortlist.
        shortlist = [open_[j] for j in np.argsort(-score)[:SHORTLIST]]
        kept = [(i, self.vector(pool.configs[i], count=True)) for i in shortlist]
        ok = [(i, v) for i, v in kept if not isinstance(v, str)]
        if not ok:
            return pool.configs[shortlist[0]]
        mean, std = fit_predict(x, y, np.stack([v for _, v in ok]))
        return pool.configs[ok[int(np.argmax(acquire(mean, std, y, opts)))][0]]

    def anchor(self, tried: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
        """The next anchor not yet tried, trained before any proposal is ranked."""
        return self._anchor(self._tried_keys(tried))

    def rank(
        self,
        proposals: Sequence[Mapping[str, Any]],
        tried: Sequence[Mapping[str, Any]],
        scored: Sequence[Scored],
    ) -> int:
        """Which of the sampler's ``proposals`` to train. Proposals that cannot train or
        repeat a tried function are passed over while another is left; before two trials have
        a value, the sampler's own first that is left."""
        self.ranked += len(proposals)
        tried_keys = self._tried_keys(tried)
        vectors = [self.vector(p, count=True) for p in proposals]
        ok = [j for j, v in enumerate(vectors) if not isinstance(v, str)]
        fresh = [j for j in ok if _key(self.features(proposals[j])) not in tried_keys]  # type: ignore[arg-type]
        left = fresh or ok
        if not left:
            return 0
        kind = self.short_kind(tried)
        if kind is not None:
            left = [j for j in left if kind_of(proposals[j]) == kind] or left
        train = self._training_set(scored)
        if train is None or len(left) == 1:
            return left[0]
        x, y = train
        mean, std = fit_predict(x, y, np.stack([vectors[j] for j in left]))
        return left[int(np.argmax(acquire(mean, std, y, self.options)))]
