"""Chest X-ray classification (lesson 07): the images and labels, checked on loading, and turned into tensors.

    data = load_pneumonia("balanced", 28)       # the class-balanced 28-pixel file that ships in data/
    data.summary()                              # counts per class per split
    x = to_tensor(data.train[0])                # uint8 (N, H, W) -> float32 (N, 1, H, W) in [0, 1]
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from course_utils.data import fetch

CLASS_NAMES = ("normal", "pneumonia")  # label 0, label 1


SPLITS = ("train", "val", "test")


NPZ_KEYS = tuple(f"{split}_{kind}" for split in SPLITS for kind in ("images", "labels"))


OFFICIAL_SIZES = (28, 64, 128, 224)


@dataclass(frozen=True)
class ImageDataset:
    """Train, validation and test images with their labels, checked by :func:`load_npz_images`.

    ``train``, ``val`` and ``test`` are pairs ``(images uint8 (N, H, W), labels int64 (N,))``.
    """

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    source: str = ""

    @property
    def image_size(self) -> tuple[int, int]:
        """``(H, W)`` of every image."""
        return tuple(self.train[0].shape[1:])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return getattr(self, name)

    @property
    def description(self) -> pd.DataFrame:
        """Counts per class per split (rows train, val, test, total) and the share of pneumonia."""
        rows = {name: np.bincount(self.split(name)[1], minlength=2) for name in SPLITS}
        rows["total"] = sum(rows.values())
        table = pd.DataFrame(rows, index=list(CLASS_NAMES)).T
        table["total"] = table.sum(axis=1)
        table["% pneumonia"] = (100 * table["pneumonia"] / table["total"]).round(1)
        table.index.name = "split"
        return table

    def summary(self) -> str:
        """One paragraph: where the data came from, the image size and the counts per split."""
        h, w = self.image_size
        table = self.description
        counts = "; ".join(f"{name} {table.loc[name, 'total']} ({table.loc[name, 'normal']} normal, "
                           f"{table.loc[name, 'pneumonia']} pneumonia)" for name in SPLITS)
        return f"{self.source or 'images'}: {h}x{w} pixels, uint8 grayscale; {counts}"

    def __repr__(self) -> str:
        return f"ImageDataset({self.summary()})"


def _problem(path, message: str) -> ValueError:
    return ValueError(f"{path}: {message}")


def _unreadable(path, err: Exception) -> ValueError:
    """The error for a file that ``np.load`` cannot read, whatever the low-level exception was."""
    return _problem(path, f"not a readable .npz file ({type(err).__name__}: {err}); it may be truncated or "
                          "damaged: delete it and fetch it again")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of ``NPZ_KEYS`` in ``path``; a missing key or an unreadable file raises ``ValueError``."""
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in NPZ_KEYS if k not in npz.files]
            if missing:
                raise _problem(path, f"missing key(s) {missing}; a MedMNIST-layout file has "
                                     f"{list(NPZ_KEYS)}, this one has {sorted(npz.files)}")
            for key in NPZ_KEYS:
                arrays[key] = npz[key]  # reading checks each member's CRC: damage shows up here
    except ValueError as err:
        if str(err).startswith(str(path)):
            raise
        raise _unreadable(path, err) from err
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, RuntimeError) as err:
        raise _unreadable(path, err) from err
    return arrays


def _check_images(path, split: str, images: np.ndarray, size: tuple | None) -> np.ndarray:
    """``{split}_images`` as uint8 ``(N, H, W)``, not empty, of ``size`` (train's; ``None`` for train)."""
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise _problem(path, f"{split}_images should have shape (N, H, W) (grayscale), got {images.shape}")
    if images.dtype != np.uint8:
        raise _problem(path, f"{split}_images should be uint8 (pixel values 0..255), got {images.dtype}")
    if len(images) == 0:
        raise _problem(path, f"{split}_images is empty")
    if size is not None and images.shape[1:] != size:
        raise _problem(path, f"{split}_images are {images.shape[1:]} pixels, train_images {size}")
    return images


def _check_labels(path, split: str, labels: np.ndarray, n_images: int) -> np.ndarray:
    """``{split}_labels`` as integers ``(N,)``, one per image, every value 0 or 1."""
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise _problem(path, f"{split}_labels should have shape (N, 1) or (N,), got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise _problem(path, f"{split}_labels should be integers, got {labels.dtype}")
    if len(labels) != n_images:
        raise _problem(path, f"{split} has {n_images} images but {len(labels)} labels")
    bad = np.setdiff1d(np.unique(labels), [0, 1])
    if bad.size:
        raise _problem(path, f"{split}_labels must be 0 (normal) or 1 (pneumonia); found "
                             f"{bad[:10].tolist()} in {int(np.isin(labels, bad).sum())} label(s)")
    return labels


def load_npz_images(path: str | os.PathLike, source: str | None = None) -> ImageDataset:
    """Read and check a MedMNIST-layout ``.npz`` file of grayscale images with labels 0 and 1.

    The layout: ``train_images``, ``val_images``, ``test_images``, ``uint8`` of shape ``(N, H, W)``
    (``(N, H, W, 1)`` is accepted and squeezed), and ``train_labels``, ``val_labels``,
    ``test_labels``, integers of shape ``(N, 1)`` or ``(N,)`` with the same ``N``, every value 0 or 1.
    Extra keys are ignored.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError``, naming the file and the
    problem, for a file that is not a readable npz (truncated, damaged, not a zip), a missing key,
    a wrong shape or dtype, splits of different image sizes, an empty split, or labels outside {0, 1}.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such image file: {path}")
    arrays = _read_npz(path)

    splits, size = {}, None
    for split in SPLITS:
        images = _check_images(path, split, arrays[f"{split}_images"], size)
        labels = _check_labels(path, split, arrays[f"{split}_labels"], len(images))
        size = images.shape[1:]  # train's; the later splits were checked to match it
        splits[split] = (np.ascontiguousarray(images), labels.astype(np.int64))
    return ImageDataset(**splits, source=source or path.name)


def pneumonia_data_name(source: str = "balanced", size: int = 28) -> str:
    """The registry name of a PneumoniaMNIST file.

    ``"balanced"`` is the course's class-balanced 28-pixel subset (offline: ``data/`` or the mirror);
    ``"official"`` is MedMNIST's file on Zenodo at 28, 64, 128 or 224 pixels (downloaded when asked for).
    """
    if source == "balanced":
        if size != 28:
            raise ValueError(f"the balanced subset exists at 28 pixels only, got size={size}; "
                             f"use source='official' for {OFFICIAL_SIZES}")
        return "pneumoniamnist_28_balanced"
    if source == "official":
        if size not in OFFICIAL_SIZES:
            raise ValueError(f"official PneumoniaMNIST sizes are {OFFICIAL_SIZES}, got {size}")
        return f"pneumoniamnist_{size}"
    raise ValueError(f"source must be 'balanced' or 'official', got {source!r}")


def load_pneumonia(source: str = "balanced", size: int = 28, *, download: bool = True) -> ImageDataset:
    """Fetch a registered PneumoniaMNIST file (checksum verified) and load it with :func:`load_npz_images`."""


    name = pneumonia_data_name(source, size)
    return load_npz_images(fetch(name, download=download), source=name)


def subsample_class(images: np.ndarray, labels: np.ndarray, label: int, fraction: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Keep a random ``fraction`` of the examples of class ``label`` and all the others (order kept)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    idx = np.flatnonzero(labels == label)
    keep_of_class = rng.choice(idx, size=max(1, round(fraction * len(idx))), replace=False)
    keep = np.sort(np.concatenate([np.flatnonzero(labels != label), keep_of_class]))
    return images[keep], labels[keep]


def to_tensor(images: np.ndarray | torch.Tensor, device=None) -> torch.Tensor:
    """uint8 ``(N, H, W)`` -> float32 ``(N, 1, H, W)`` in [0, 1] (a float tensor is passed through)."""
    if isinstance(images, torch.Tensor) and images.is_floating_point():
        x = images if images.ndim == 4 else images[:, None]
        return x.to(device) if device is not None else x
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images of shape (N, H, W), got {images.dtype} {images.shape}")
    return torch.from_numpy(images).to(device).float().div_(255.0)[:, None]
