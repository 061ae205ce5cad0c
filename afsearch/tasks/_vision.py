"""torchvision and timm for the ``image-folder`` task: its datasets, transforms and models.

Imported only where the task builds its data or its network (see
:func:`afsearch.tasks._image_folder.vision`), so listing tasks loads neither library. Tested
with torchvision 0.29 and timm 1.0.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import timm
import torch
from torch import nn
from torch.utils.data import Dataset
from torchvision import datasets
from torchvision.transforms import v2

from afsearch.exceptions import AfsearchError
from afsearch.tasks._base import TaskDatasets

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Models that build every activation from ``act_layer``, suggested when one does not.
TAKES_ACT_LAYER = (
    "resnet10t",
    "resnet18",
    "efficientnet_b0",
    "convnext_atto",
    "vit_tiny_patch16_224",
)
#: The seed of the test images drawn from one folder: the same whatever the fit's seed.
TEST_SPLIT_SEED = 0

Transform = Callable[[Any], torch.Tensor]


def transforms(image_size: int, augment: bool) -> tuple[Transform, Transform]:
    """The training and evaluation transforms: resized and centre-cropped to ``image_size``
    (augmented: a random resized crop and a horizontal flip), normalised as ImageNet."""
    tail = [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    evaluation = v2.Compose([v2.ToImage(), v2.Resize(image_size), v2.CenterCrop(image_size), *tail])
    if not augment:
        return evaluation, evaluation
    training = v2.Compose(
        [v2.ToImage(), v2.RandomResizedCrop(image_size), v2.RandomHorizontalFlip(), *tail]
    )
    return training, evaluation


class Split(Dataset[tuple[torch.Tensor, int]]):
    """The images of ``folder`` at ``indices``, each through ``transform``."""

    def __init__(
        self, folder: datasets.ImageFolder, indices: Sequence[int], transform: Transform
    ) -> None:
        self.folder, self.indices, self.transform = folder, list(indices), transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image, label = self.folder[self.indices[i]]
        return self.transform(image), label


def image_folder(path: Path, transform: Transform | None = None) -> datasets.ImageFolder:
    """torchvision's ImageFolder of ``path``; a class folder without images is a sentence."""
    try:
        return datasets.ImageFolder(str(path), transform=transform)
    except FileNotFoundError as error:
        raise AfsearchError(
            f"Option 'data_dir' of task 'image-folder': {str(path)!r} has a class folder "
            f"without images ({error})."
        ) from None


def split_folders(root: Path, image_size: int, augment: bool) -> TaskDatasets:
    """The images of ``root/train``, ``root/val`` and ``root/test``."""
    training, evaluation = transforms(image_size, augment)
    return TaskDatasets(
        image_folder(root / "train", training),
        image_folder(root / "val", evaluation),
        image_folder(root / "test", evaluation),
    )


def split_one_folder(
    root: Path,
    seed: int,
    image_size: int,
    augment: bool,
    val_fraction: float,
    test_fraction: float,
) -> TaskDatasets:
    """The images of ``root`` split per class: ``test_fraction`` of each class for testing,
    drawn the same way for every seed, then ``val_fraction`` for validation, drawn by ``seed``;
    each at least one image of every class."""
    folder = image_folder(root)
    targets = np.asarray(folder.targets)
    fixed, drawn = np.random.default_rng(TEST_SPLIT_SEED), np.random.default_rng(seed)
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for label, name in enumerate(folder.classes):
        members = np.flatnonzero(targets == label)  # ImageFolder lists files sorted
        n_test = max(1, round(len(members) * test_fraction))
        n_val = max(1, round(len(members) * val_fraction))
        if len(members) - n_test - n_val < 1:
            raise AfsearchError(
                f"Class folder {name!r} of option 'data_dir' {str(root)!r} has "
                f"{len(members)} images, too few to give test_fraction {test_fraction} and "
                f"val_fraction {val_fraction} each at least one and keep one to train on; add "
                "images or give it train/, val/ and test/ folders."
            )
        members = fixed.permutation(members)
        rest = drawn.permutation(members[n_test:])
        parts["test"] += members[:n_test].tolist()
        parts["val"] += rest[:n_val].tolist()
        parts["train"] += rest[n_val:].tolist()
    training, evaluation = transforms(image_size, augment)
    return TaskDatasets(
        Split(folder, sorted(parts["train"]), training),
        Split(folder, sorted(parts["val"]), evaluation),
        Split(folder, sorted(parts["test"]), evaluation),
    )


def create_model(
    name: str, num_classes: int, act_layer: Callable[..., nn.Module], image_size: int
) -> nn.Module:
    """timm's model ``name``, untrained, with ``num_classes`` outputs and ``act_layer`` at
    every activation it builds from it; a model of a fixed input size gets ``image_size``."""
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=3)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise AfsearchError(
            f"Option 'model' of task 'image-folder' names no timm model: {name!r}; {hint}"
            "timm.list_models() lists them."
        )
    extra: dict[str, Any] = {}
    config = timm.models.get_pretrained_cfg(name)
    if config is not None and config.fixed_input_size:  # a ViT's position embedding
        extra["img_size"] = image_size
    try:
        return timm.create_model(
            name, pretrained=False, num_classes=num_classes, act_layer=act_layer, **extra
        )
    except Exception as error:  # timm's model code: any failure is the sentence's subject
        if isinstance(error, TypeError) and "act_layer" in str(error):
            reason = "its constructor takes no act_layer"
        else:
            reason = f"it fails to build with one ({type(error).__name__}: {error})"
    raise AfsearchError(
        f"timm model {name!r} cannot be built with the candidate as its activation: {reason}; "
        f"choose a model that builds every activation from act_layer, such as "
        f"{', '.join(map(repr, TAKES_ACT_LAYER))}."
    )
