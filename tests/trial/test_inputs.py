"""The input ranges a trial records: sampled in training only, quantiles in order, within the
data, read back from stored learned values."""

from __future__ import annotations

import pytest
import torch

from afsearch.trial.inputs import (
    INPUT_LEVELS,
    INPUT_QUANTILES,
    LEVELS,
    InputRecorder,
    input_quantiles,
    seen_range,
)


def test_quantiles_are_ordered_within_the_inputs_and_per_site() -> None:
    recorder = InputRecorder(every=1)
    make = recorder.watch(lambda: torch.nn.Tanh())
    first, second = make(), make()
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        first(torch.randn(64, 16, generator=gen))
        second(3.0 + 0.5 * torch.rand(64, 16, generator=gen))
    taken = recorder.take()
    assert taken[INPUT_LEVELS] == list(LEVELS)
    low, high = taken[INPUT_QUANTILES]
    for q in (low, high):
        assert len(q) == len(LEVELS)
        assert q == sorted(q)
    assert -5.0 < low[0] < -2.0 and abs(low[4]) < 0.2 and 2.0 < low[-1] < 5.0
    assert high[0] >= 3.0 and high[-1] <= 3.5
    assert seen_range(high) == (high[0], high[-1])
    # take() clears: a second take without inputs has nothing to say.
    assert recorder.take() == {}


def test_only_training_calls_are_sampled_and_every_nth_one() -> None:
    recorder = InputRecorder(every=3)
    act = recorder.watch(lambda: torch.nn.Identity())()
    act.eval()
    act(torch.full((10,), 100.0))
    assert recorder.take() == {}
    act.train()
    for value in range(6):  # calls 1 and 4 are kept
        act(torch.full((10,), float(value)))
    q = recorder.take()[INPUT_QUANTILES][0]
    assert q[0] == 0.0 and q[-1] == 3.0


def test_a_sample_keeps_no_reference_to_the_batch() -> None:
    recorder = InputRecorder(every=1, per_call=4)
    act = recorder.watch(lambda: torch.nn.Identity())()
    act(torch.arange(1000.0))
    (kept,) = recorder.samples[0]
    assert kept.numel() == 4 and kept.untyped_storage().nbytes() == 16
    recorder.remove()
    act(torch.arange(1000.0))
    assert len(recorder.samples[0]) == 1


def test_stored_quantiles_read_back_and_malformed_ones_are_none() -> None:
    q = [float(v) for v in range(len(LEVELS))]
    stored = {"mean": {}, INPUT_LEVELS: list(LEVELS), INPUT_QUANTILES: [q, []]}
    assert input_quantiles(stored) == (list(LEVELS), [q, []])
    assert input_quantiles({"mean": {}}) is None
    assert input_quantiles(None) is None


@pytest.mark.parametrize(
    "bad",
    [
        {INPUT_LEVELS: [0.5], INPUT_QUANTILES: [[1.0, 2.0]]},
        {INPUT_LEVELS: [0.5], INPUT_QUANTILES: "1.0"},
        {INPUT_LEVELS: [], INPUT_QUANTILES: [[]]},
        {INPUT_LEVELS: [0.5], INPUT_QUANTILES: [[float("nan")]]},
        {INPUT_LEVELS: [0.5], INPUT_QUANTILES: [["1"]]},
    ],
)
def test_malformed_quantiles_are_none(bad: dict) -> None:
    assert input_quantiles(bad) is None


def test_a_real_training_records_quantiles_inside_what_each_site_received() -> None:
    from afsearch.activations import build
    from afsearch.tasks import ActivationFactory, get_task

    kind = type(get_task("teacher-student"))
    task = get_task("teacher-student", kind.make_settings(epochs=2, options={"depth": 2}))
    factory = ActivationFactory(build({"family": "rational"}))
    recorder = InputRecorder()
    every_input: list[list[torch.Tensor]] = [[], []]
    make = recorder.watch(factory.maker())

    def make_and_log(*args: object, **kwargs: object) -> torch.nn.Module:
        module = make(*args, **kwargs)
        site = len(recorder.samples) - 1
        module.register_forward_pre_hook(
            lambda m, a: every_input[site].append(a[0].detach().clone()) if m.training else None
        )
        return module

    for _ in task.fit(make_and_log, seed=0):
        taken = recorder.take()
        for site, q in enumerate(taken[INPUT_QUANTILES]):
            seen = torch.cat(every_input[site])
            assert q == sorted(q)
            assert seen.min() <= q[0] and q[-1] <= seen.max()
            # The median of a sample is near the median of everything the site received.
            assert abs(q[4] - float(seen.median())) < 0.25 * float(seen.std())
            every_input[site].clear()
    assert len(taken[INPUT_QUANTILES]) == 2


def test_a_watched_maker_keeps_the_signature_that_channels_are_passed_by() -> None:
    from afsearch.tasks._sites import takes_channels

    def make(channels: int | None = None) -> torch.nn.Module:
        return torch.nn.Identity()

    recorder = InputRecorder()
    assert takes_channels(recorder.watch(make))
    assert not takes_channels(recorder.watch(lambda: torch.nn.Identity()))
