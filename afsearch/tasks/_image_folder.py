"""``image-folder``: images in class folders, read with torchvision, and any timm model.

``options["data_dir"]`` holds either ``train/``, ``val/`` and ``test/`` folders, each of class
folders, or class folders alone, which are split per class: ``test_fraction`` of each class's
images for testing, drawn the same way whatever the fit's seed (so every seed and every trial is
tested on the same images), then ``val_fraction`` for validation, drawn by the fit's seed. Images
are resized and centre-cropped to ``image_size`` and normalised with ImageNet's statistics;
``augment`` trains on random resized crops, flipped at random. The network is the timm model
``model``, untrained, with the candidate at every activation it builds from ``act_layer``.

torchvision and timm are imported only when the task builds its data or network (``pip install
'afsearch[vision]'``), so listing tasks or checking a space loads neither.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from afsearch.exceptions import AfsearchError
from afsearch.tasks._base import BaseTask, TaskDatasets
from afsearch.tasks._registry import register_task
from afsearch.tasks._settings import TaskSettings, is_number

if TYPE_CHECKING:
    from torch import nn

SPLITS = ("train", "val", "test")
_LAYOUT = (
    "a folder of class folders (one folder of images per class), or of 'train', 'val' and "
    "'test' folders of them"
)


def vision() -> ModuleType:
    """:mod:`afsearch.tasks._vision`, or the sentence saying how to install what it needs."""
    for name in ("torchvision", "timm"):
        try:
            importlib.import_module(name)
        except ImportError:
            raise AfsearchError(
                f"Task 'image-folder' needs torchvision and timm, and {name} is not installed; "
                "install them with: pip install 'afsearch[vision]'."
            ) from None
        except RuntimeError as error:  # a torchvision built for another torch
            raise AfsearchError(
                f"Task 'image-folder' needs {name}, which could not be imported beside this "
                f"torch ({error}); install the {name} release made for it."
            ) from None
    return importlib.import_module("afsearch.tasks._vision")


def class_folders(folder: Path) -> list[str]:
    """The class names torchvision's ImageFolder finds in ``folder``: its folders, sorted."""
    return sorted(entry.name for entry in os.scandir(folder) if entry.is_dir())


def timm_act_layer(make_activation: Callable[[], nn.Module]) -> Callable[..., nn.Module]:
    """``make_activation`` as timm's ``act_layer``, which timm calls as ``act_layer()`` or
    ``act_layer(inplace=True)``: a candidate never works in place, so the arguments are
    dropped, and each call builds the next activation site."""

    def act_layer(*_: Any, **__: Any) -> nn.Module:
        return make_activation()

    return act_layer


@register_task
class ImageFolderTask(BaseTask):
    """Classify the images of ``options["data_dir"]`` with a timm model (module docstring)."""

    name = "image-folder"
    description = "images in class folders at options['data_dir'] (torchvision), a timm model"
    metric = "val_accuracy"
    mode = "max"
    default_settings = TaskSettings(
        epochs=10,
        batch_size=64,
        lr=1e-3,
        weight_decay=0.05,
        optimizer="adamw",
        options={
            "data_dir": None,
            "model": "resnet10t",
            "image_size": 128,
            "augment": False,
            "val_fraction": 0.1,
            "test_fraction": 0.1,
            "amp": True,
            "schedule": "cosine",
        },
    )
    smoke_options: ClassVar[dict[str, Any]] = {"model": "test_resnet", "image_size": 16}

    def check_options(self) -> None:
        options = self.options
        # Unset, it is refused where the data or network is built: a space's checks also make
        # the task with its default options.
        self.layout: str = "unset"
        self.classes: list[str] = []
        if options["data_dir"] is not None:
            if not isinstance(options["data_dir"], (str, os.PathLike)):
                raise self.option_error("data_dir", _LAYOUT)
            self.layout, self.classes = self._read_layout(Path(options["data_dir"]).expanduser())
        if not options["model"]:
            raise self.option_error("model", "the name of a timm model, such as 'resnet10t'")
        self.check_at_least(8, "image_size")
        for key in ("val_fraction", "test_fraction"):
            if not is_number(options[key]) or not 0 < options[key] < 1:
                raise self.option_error(key, "a number between 0 and 1")
        if options["val_fraction"] + options["test_fraction"] >= 1:
            raise AfsearchError(
                f"Options 'val_fraction' and 'test_fraction' of task {self.name!r} must add up "
                f"to less than 1, so that images are left to train on; got "
                f"{options['val_fraction']} and {options['test_fraction']}."
            )

    def _read_layout(self, root: Path) -> tuple[str, list[str]]:
        """``"splits"`` or ``"one"``, and the class names; a sentence unless the folder is
        laid out as :data:`_LAYOUT` says."""
        where = f"Option 'data_dir' of task {self.name!r}"
        if not root.is_dir():
            raise AfsearchError(
                f"{where} must be {_LAYOUT}; {str(root)!r} is not a folder "
                "(afsearch downloads nothing)."
            )
        present = [split for split in SPLITS if (root / split).is_dir()]
        missing = [split for split in SPLITS if split not in present]
        if present and missing:
            raise AfsearchError(
                f"{where} must be {_LAYOUT}; {str(root)!r} has {', '.join(present)} but no "
                f"{' or '.join(missing)} folder."
            )
        folder = root / "train" if present else root
        classes = class_folders(folder)
        if len(classes) < 2:
            raise AfsearchError(
                f"{where} must be {_LAYOUT}; {str(folder)!r} has {len(classes)} class folders, "
                "and a classifier needs at least 2."
            )
        for split in present[1:]:
            found = class_folders(root / split)
            if found != classes:
                raise AfsearchError(
                    f"{where}: the class folders of {str(root / split)!r} ({', '.join(found)}) "
                    f"must be those of its 'train' folder ({', '.join(classes)})."
                )
        return ("splits" if present else "one"), classes

    def _check_data_dir_set(self) -> None:
        if self.layout == "unset":
            raise AfsearchError(
                f"Option 'data_dir' of task {self.name!r} is not set; set it to {_LAYOUT} "
                "(afsearch downloads nothing)."
            )

    def build_data(self, seed: int) -> TaskDatasets:
        self._check_data_dir_set()
        options = self.options
        root = Path(options["data_dir"]).expanduser()
        if self.layout == "splits":
            return vision().split_folders(root, options["image_size"], options["augment"])
        return vision().split_one_folder(
            root,
            seed,
            options["image_size"],
            options["augment"],
            options["val_fraction"],
            options["test_fraction"],
        )

    def build_model(self, make_activation: Callable[[], nn.Module]) -> nn.Module:
        self._check_data_dir_set()  # the classes are the folders'
        return vision().create_model(
            self.options["model"],
            len(self.classes),
            timm_act_layer(make_activation),
            self.options["image_size"],
        )
