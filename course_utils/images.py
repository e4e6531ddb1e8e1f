"""Chest X-ray classification with PyTorch (lesson 07): data, augmentation, model, training, metrics, Grad-CAM.

    data = load_pneumonia("balanced", 28)          # the offline, class-balanced 28-pixel file (the mirror)
    print(data.summary()); data.description        # counts per class per split, image size
    augment = lambda x, g: random_intensity(random_affine(x, g), g)   # geometry, then a new exposure
    x_shift, _ = shifted_copy(data.val[0], seed=1, geometry={...}, intensity={...})  # a harder validation set
    model = build_cnn(28, mean=..., std=...)       # 4 conv blocks -> 256 -> 128 -> 1 logit
    history = train_classifier(model, data.train, (x_shift, data.val[1]), epochs=40, augment=augment,
                               monitor={"plain_val": data.val})
    prob = predict_proba([model, ...], data.test[0], flip=True)   # P(pneumonia): several networks, both views
    binary_metrics(data.test[1], prob, threshold=0.5)

Images stay ``uint8`` arrays of shape ``(N, H, W)`` until they meet the model; every function that
feeds the model turns them into float tensors ``(N, 1, H, W)`` in [0, 1]. The model standardises
its input itself (with the training mean and standard deviation, or per image), so augmentation,
prediction and Grad-CAM all work on plain [0, 1] images. Labels are ``int64`` arrays of shape ``(N,)``:
0 = NORMAL, 1 = PNEUMONIA (MedMNIST's PneumoniaMNIST convention).

scikit-learn is needed only by :func:`binary_metrics` and :func:`youden_threshold` (imported there).
"""

from __future__ import annotations

import copy
import math
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .hardware import choose_device
from .progress import progress_bar

CLASS_NAMES = ("normal", "pneumonia")  # label 0, label 1
SPLITS = ("train", "val", "test")
NPZ_KEYS = tuple(f"{split}_{kind}" for split in SPLITS for kind in ("images", "labels"))
OFFICIAL_SIZES = (28, 64, 128, 224)

# --------------------------------------------------------------------------- data


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
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in NPZ_KEYS if k not in npz.files]
            if missing:
                raise _problem(path, f"missing key(s) {missing}; a MedMNIST-layout file has {list(NPZ_KEYS)}, "
                                     f"this one has {sorted(npz.files)}")
            for key in NPZ_KEYS:
                arrays[key] = npz[key]  # reading checks each member's CRC: damage shows up here
    except ValueError as err:
        if str(err).startswith(str(path)):
            raise
        raise _problem(path, f"not a readable .npz file ({type(err).__name__}: {err}); it may be truncated or "
                             "damaged: delete it and fetch it again") from err
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, RuntimeError) as err:
        raise _problem(path, f"not a readable .npz file ({type(err).__name__}: {err}); it may be truncated or "
                             "damaged: delete it and fetch it again") from err

    splits, size = {}, None
    for split in SPLITS:
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim == 4 and images.shape[-1] == 1:
            images = images[..., 0]
        if images.ndim != 3:
            raise _problem(path, f"{split}_images should have shape (N, H, W) (grayscale), got {images.shape}")
        if images.dtype != np.uint8:
            raise _problem(path, f"{split}_images should be uint8 (pixel values 0..255), got {images.dtype}")
        if len(images) == 0:
            raise _problem(path, f"{split}_images is empty")
        if size is None:
            size = images.shape[1:]
        elif images.shape[1:] != size:
            raise _problem(path, f"{split}_images are {images.shape[1:]} pixels, train_images {size}")
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1:
            raise _problem(path, f"{split}_labels should have shape (N, 1) or (N,), got {labels.shape}")
        if not np.issubdtype(labels.dtype, np.integer):
            raise _problem(path, f"{split}_labels should be integers, got {labels.dtype}")
        if len(labels) != len(images):
            raise _problem(path, f"{split} has {len(images)} images but {len(labels)} labels")
        bad = np.setdiff1d(np.unique(labels), [0, 1])
        if bad.size:
            raise _problem(path, f"{split}_labels must be 0 (normal) or 1 (pneumonia); found "
                                 f"{bad[:10].tolist()} in {int(np.isin(labels, bad).sum())} label(s)")
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
    from .data import fetch

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


# --------------------------------------------------------------------------- augmentation


def affine_theta(angle_deg, scale=1.0, shift_x=0.0, shift_y=0.0, flip=False) -> torch.Tensor:
    """The ``(N, 2, 3)`` float64 matrices for ``F.affine_grid`` that move the image *content* like this:

    rotate by ``angle_deg`` counter-clockwise (as displayed), scale by ``scale`` (> 1 enlarges),
    shift by ``shift_x`` to the right and ``shift_y`` down (fractions of the image *width/height*:
    0.1 is 10 %), then mirror left-right where ``flip`` is true. Arguments are numbers or 1-D
    tensors/arrays of one length ``N`` (numbers are broadcast).

    ``affine_grid`` wants the inverse map, from an output pixel back to where it samples the
    input: ``p_in = R(a) (flip(p_out) - t) / s`` in coordinates running from -1 to 1.
    """
    args = [torch.as_tensor(np.asarray(v, dtype=np.float64) if not isinstance(v, torch.Tensor) else v,
                            dtype=torch.float64).reshape(-1).cpu()
            for v in (angle_deg, scale, shift_x, shift_y, flip)]
    n = max(len(a) for a in args)
    angle, scale, tx, ty, flip = (a.expand(n) if len(a) == 1 else a for a in args)
    if any(len(a) != n for a in (angle, scale, tx, ty, flip)):
        raise ValueError(f"affine_theta: arguments must have one length, got {[len(a) for a in args]}")
    if (scale <= 0).any():
        raise ValueError("affine_theta: scale must be positive")
    a = torch.deg2rad(angle)
    c, s = torch.cos(a), torch.sin(a)
    fx = 1.0 - 2.0 * (flip != 0).double()          # -1 mirrors x
    tx, ty = 2.0 * tx, 2.0 * ty                     # fraction of the width -> units of the [-1, 1] grid
    theta = torch.empty(n, 2, 3, dtype=torch.float64)
    theta[:, 0, 0], theta[:, 0, 1] = c * fx / scale, -s / scale
    theta[:, 1, 0], theta[:, 1, 1] = s * fx / scale, c / scale
    theta[:, 0, 2] = -(c * tx - s * ty) / scale
    theta[:, 1, 2] = -(s * tx + c * ty) / scale
    return theta


def apply_affine(x: torch.Tensor, theta: torch.Tensor, padding_mode: str = "zeros") -> torch.Tensor:
    """Warp images ``x`` ``(N, C, H, W)`` with ``theta`` ``(N, 2, 3)`` (bilinear; outside -> 0 by default).

    The sampling runs in float64 and the result is cast back to ``x``'s dtype: an identity
    ``theta`` or a pure flip then gives back the image bit for bit (in float32 the grid's
    rounding would change pixels by about 1e-6). In float64 the grid's rounding still leaks
    about 1e-16 of a neighbour into each pixel; the cast to float32 removes that from every value
    except those near 0, so values below 1e-12 in size are set to exactly 0.
    """
    if x.ndim != 4:
        raise ValueError(f"apply_affine: expected images (N, C, H, W), got shape {tuple(x.shape)}")
    if theta.shape != (x.shape[0], 2, 3):
        raise ValueError(f"apply_affine: theta must have shape ({x.shape[0]}, 2, 3), got {tuple(theta.shape)}")
    grid = F.affine_grid(theta.to(x.device, torch.float64), list(x.shape), align_corners=False)
    out = F.grid_sample(x.double(), grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)
    return out.masked_fill_(out.abs() < 1e-12, 0.0).to(x.dtype)


def random_affine(x: torch.Tensor, generator: torch.Generator | None = None, *, max_rotation: float = 15.0,
                  flip_prob: float = 0.5, max_shift: float = 0.1, scale_range: tuple[float, float] = (0.9, 1.1),
                  padding_mode: str = "zeros", return_params: bool = False):
    """Random augmentation of a batch ``(N, C, H, W)``: each image gets its own rotation uniform in
    +-``max_rotation`` degrees, a left-right flip with probability ``flip_prob``, a shift uniform in
    +-``max_shift`` of the width and height, and a scale uniform in ``scale_range``.

    The random numbers come from ``generator`` (a CPU ``torch.Generator``; the global one if None).
    ``padding_mode`` fills what comes in from outside the image: ``"zeros"`` (black) or ``"border"``.
    ``return_params=True`` also returns them as a dict of ``(N,)`` tensors.
    """
    n = x.shape[0]
    u = torch.rand(n, 5, generator=generator, dtype=torch.float64)
    params = {
        "angle": (2 * u[:, 0] - 1) * max_rotation,
        "flip": u[:, 1] < flip_prob,
        "shift_x": (2 * u[:, 2] - 1) * max_shift,
        "shift_y": (2 * u[:, 3] - 1) * max_shift,
        "scale": scale_range[0] + (scale_range[1] - scale_range[0]) * u[:, 4],
    }
    theta = affine_theta(params["angle"], params["scale"], params["shift_x"], params["shift_y"], params["flip"])
    out = apply_affine(x, theta, padding_mode)
    return (out, params) if return_params else out


def gaussian_blur(x: torch.Tensor, sigma) -> torch.Tensor:
    """Blur each image of ``x`` ``(N, C, H, W)`` with its own Gaussian of standard deviation ``sigma``
    (pixels; a number or ``(N,)`` values, 0 leaves that image exactly as it is).

    Separable: one horizontal and one vertical 1-D convolution, ``groups`` = images x channels, so the
    whole batch takes two calls. The kernel reaches ``ceil(3 * max sigma)`` pixels each way; at the
    edges the outermost pixels are repeated (``"replicate"``), as ``padding_mode="border"`` does.
    """
    if x.ndim != 4:
        raise ValueError(f"gaussian_blur: expected images (N, C, H, W), got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    sigma = torch.as_tensor(sigma, dtype=torch.float64).reshape(-1).cpu()
    if len(sigma) == 1:
        sigma = sigma.expand(n)
    if len(sigma) != n:
        raise ValueError(f"gaussian_blur: sigma must be one number or one per image ({n}), got {len(sigma)}")
    if not torch.isfinite(sigma).all() or (sigma < 0).any():
        raise ValueError(f"gaussian_blur: sigma must be finite and >= 0, got {sigma.tolist()}")
    radius = math.ceil(3 * float(sigma.max())) if n else 0
    if radius == 0:
        return x.clone()
    d = torch.arange(-radius, radius + 1, dtype=torch.float64)
    safe = sigma.clamp_min(1e-6)[:, None]
    kernel = torch.exp(-0.5 * (d / safe) ** 2)
    kernel = torch.where(sigma[:, None] > 1e-6, kernel, (d == 0).double())      # sigma 0: the identity kernel
    kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0).to(x.device)  # (N*C, K)
    y = x.double().reshape(1, n * c, h, w)
    y = F.conv2d(F.pad(y, (radius, radius, 0, 0), mode="replicate"), kernel[:, None, None, :], groups=n * c)
    y = F.conv2d(F.pad(y, (0, 0, radius, radius), mode="replicate"), kernel[:, None, :, None], groups=n * c)
    return y.reshape(n, c, h, w).to(x.dtype)


def adjust_intensity(x: torch.Tensor, gamma=1.0, contrast=1.0, brightness=0.0, blur=0.0, noise=0.0,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Change how an X-ray is exposed and recorded, image by image, for ``x`` ``(N, C, H, W)`` in [0, 1].

    In this order, each argument a number or ``(N,)`` values:

    1. ``gamma``: ``x ** gamma`` (< 1 brightens the dark parts, > 1 darkens them: a different
       response curve of film or detector);
    2. ``contrast``: ``(x - m) * contrast + m`` around each image's own mean ``m`` (< 1 flattens);
    3. ``brightness``: added (a different exposure);
    4. ``blur``: a Gaussian of that standard deviation in pixels (:func:`gaussian_blur`);
    5. ``noise``: Gaussian noise of that standard deviation, drawn from ``generator``;

    then clipped to [0, 1]. The defaults change nothing, exactly. Computed in float64 and cast back.
    """
    if x.ndim != 4:
        raise ValueError(f"adjust_intensity: expected images (N, C, H, W), got shape {tuple(x.shape)}")
    n = x.shape[0]

    def per_image(value, name):
        v = torch.as_tensor(value, dtype=torch.float64).reshape(-1).cpu()
        if len(v) not in (1, n):
            raise ValueError(f"adjust_intensity: {name} must be one number or one per image ({n}), got {len(v)}")
        if not torch.isfinite(v).all():
            raise ValueError(f"adjust_intensity: {name} must be finite, got {v.tolist()}")
        return v.expand(n).to(x.device)[:, None, None, None]

    gamma, contrast, brightness, noise = (per_image(v, k) for v, k in
                                          [(gamma, "gamma"), (contrast, "contrast"), (brightness, "brightness"),
                                           (noise, "noise")])
    if (gamma <= 0).any():
        raise ValueError("adjust_intensity: gamma must be positive")
    if (contrast < 0).any() or (noise < 0).any():
        raise ValueError("adjust_intensity: contrast and noise must be >= 0")
    y = x.double().clamp(0.0, 1.0) ** gamma
    mean = y.mean(dim=(1, 2, 3), keepdim=True)
    y = (y - mean) * contrast + mean + brightness
    y = gaussian_blur(y, blur)
    if (noise > 0).any():
        y = y + noise * torch.randn(y.shape, generator=generator, dtype=torch.float64).to(y.device)
    return y.clamp_(0.0, 1.0).to(x.dtype)


def random_intensity(x: torch.Tensor, generator: torch.Generator | None = None, *, gamma=(0.7, 1.4),
                     contrast=(0.7, 1.3), brightness: float = 0.1, blur=(0.0, 0.8), noise: float = 0.0,
                     return_params: bool = False):
    """Random :func:`adjust_intensity` of a batch ``(N, C, H, W)``, each image its own draw:
    ``gamma`` log-uniform in its range (as likely to brighten as to darken), ``contrast`` uniform in
    its range, ``brightness`` uniform in +-``brightness``, ``blur`` (pixels) uniform in its range and
    ``noise`` the standard deviation of added Gaussian noise (0: none).

    The random numbers come from ``generator`` (a CPU ``torch.Generator``; the global one if None).
    ``return_params=True`` also returns the draws as a dict of ``(N,)`` tensors.
    """
    for name, (lo, hi) in [("gamma", gamma), ("contrast", contrast), ("blur", blur)]:
        if not 0 <= lo <= hi or (name == "gamma" and lo <= 0):
            bound = "0 < low" if name == "gamma" else "0 <= low"
            raise ValueError(f"random_intensity: {name} must be a range (low, high) with {bound} <= high, "
                             f"got {(lo, hi)}")
    if brightness < 0 or noise < 0:
        raise ValueError(f"random_intensity: brightness and noise must be >= 0, got {brightness} and {noise}")
    n = x.shape[0]
    u = torch.rand(n, 4, generator=generator, dtype=torch.float64)
    log_lo, log_hi = math.log(gamma[0]), math.log(gamma[1])
    params = {
        "gamma": torch.exp(log_lo + (log_hi - log_lo) * u[:, 0]),
        "contrast": contrast[0] + (contrast[1] - contrast[0]) * u[:, 1],
        "brightness": (2 * u[:, 2] - 1) * brightness,
        "blur": blur[0] + (blur[1] - blur[0]) * u[:, 3],
    }
    out = adjust_intensity(x, **params, noise=noise, generator=generator)
    return (out, params) if return_params else out


def shifted_copy(images: np.ndarray, seed: int, *, geometry: dict | None = None,
                 intensity: dict | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """A fixed, seeded, perturbed copy of uint8 images ``(N, H, W)``: every image moved by
    :func:`random_affine` (``geometry``: its keyword arguments) and then re-exposed by
    :func:`random_intensity` (``intensity``: its keyword arguments), rounded back to uint8.

    Made for a *shifted validation set*: the same patients as validation, but as if filmed on other
    machines, so that a network which only memorised the training pool no longer scores perfectly.
    Only the changes named in the dicts are made (no flip unless ``flip_prob`` is given; edges
    ``"border"``-padded); empty dicts leave that part out, and both empty give the images back.
    The same ``seed`` gives the same images. Returns ``(images uint8 (N, H, W), one row of
    parameters per image)``.
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"shifted_copy: expected uint8 images of shape (N, H, W), got {images.dtype} {images.shape}")
    geometry = dict(geometry or {})
    intensity = dict(intensity or {})
    if geometry:       # only what is asked for; film edges repeated
        geometry = {"max_rotation": 0.0, "flip_prob": 0.0, "max_shift": 0.0, "scale_range": (1.0, 1.0),
                    "padding_mode": "border", **geometry}
    if intensity:
        intensity = {"gamma": (1.0, 1.0), "contrast": (1.0, 1.0), "brightness": 0.0, "blur": (0.0, 0.0), **intensity}
    generator = torch.Generator().manual_seed(seed)
    x, params = to_tensor(images), {}                  # all images at once: the draws depend on the seed only
    if geometry:
        x, p = random_affine(x, generator, **geometry, return_params=True)
        params.update(p)
    if intensity:
        x, p = random_intensity(x, generator, **intensity, return_params=True)
        params.update(p)
    shifted = x[:, 0].mul(255.0).round_().clamp_(0, 255).to(torch.uint8).numpy()
    return shifted, pd.DataFrame({k: v.numpy() for k, v in params.items()}, index=range(len(shifted)))


# --------------------------------------------------------------------------- model


class Standardize(nn.Module):
    """``(x - mean) / std`` with fixed numbers (the training pixels'), saved with the model."""

    def __init__(self, mean: float, std: float):
        super().__init__()
        if not std > 0:
            raise ValueError(f"std must be positive, got {std}")
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, x):
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean.item():.4f}, std={self.std.item():.4f}"


class ImageStandardize(nn.Module):
    """Per-image standardisation: ``(x - mean) / (std + eps)`` with each image's *own* mean and
    standard deviation, so that a brighter or flatter exposure of the same chest gives (before
    clipping) the same input. Nothing is learned or stored."""

    def __init__(self, eps: float = 0.01):
        super().__init__()
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.eps = float(eps)

    def forward(self, x):
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True, unbiased=False)
        return (x - mean) / (std + self.eps)

    def extra_repr(self) -> str:
        return f"eps={self.eps}"


class PneumoniaCNN(nn.Module):
    """``Standardize -> blocks -> Flatten -> head``: one logit per image (> 0 leans to pneumonia).

    ``blocks[i]`` is ``Conv2d(3x3, padding 1) -> BatchNorm2d -> ReLU -> MaxPool2d(2) -> Dropout``;
    ``blocks[i][2]`` (the ReLU) is the layer Grad-CAM looks at.
    """

    def __init__(self, standardize: Standardize, blocks: nn.ModuleList, head: nn.Sequential, sizes: list[int]):
        super().__init__()
        self.standardize, self.blocks, self.head = standardize, blocks, head
        self.sizes = sizes  # the side of the feature map after each block, input first

    def forward(self, x):                         # (N, 1, H, W) in [0, 1]
        x = self.standardize(x)
        for block in self.blocks:
            x = block(x)                          # (N, C_i, H_i, W_i)
        return self.head(x.flatten(1))[:, 0]      # (N,) logits


def build_cnn(image_size: int = 28, *, channels=(32, 64, 128, 256), hidden=(256, 128), conv_dropout: float = 0.25,
              dense_dropout: float = 0.5, mean: float = 0.0, std: float = 1.0,
              normalize: str = "dataset") -> PneumoniaCNN:
    """The lesson's CNN for square grayscale images of side ``image_size``.

    The first layer standardises the input: ``normalize="dataset"`` with the fixed ``mean`` and
    ``std`` (the training pixels'; :class:`Standardize`), ``"image"`` with each image's own
    (:class:`ImageStandardize`; ``mean`` and ``std`` are then unused).
    One block per entry of ``channels`` while the feature map can still be halved (side >= 2);
    MaxPool2d floors odd sides (28 -> 14 -> 7 -> 3 -> 1). Then Linear layers of ``hidden`` sizes,
    each ReLU -> Dropout(``dense_dropout``), and a Linear to one logit.
    """
    if normalize not in ("dataset", "image"):
        raise ValueError(f"normalize must be 'dataset' or 'image', got {normalize!r}")
    sizes, blocks, c_in = [image_size], nn.ModuleList(), 1
    for c_out in channels:
        if sizes[-1] < 2:
            break
        blocks.append(nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                                    nn.MaxPool2d(2), nn.Dropout(conv_dropout)))
        sizes.append(sizes[-1] // 2)
        c_in = c_out
    layers, width = [], c_in * sizes[-1] ** 2
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dense_dropout)]
        width = h
    layers.append(nn.Linear(width, 1))
    first = Standardize(mean, std) if normalize == "dataset" else ImageStandardize()
    return PneumoniaCNN(first, blocks, nn.Sequential(*layers), sizes)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (BatchNorm's running statistics are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# --------------------------------------------------------------------------- training


@torch.no_grad()
def predict_logits(model: nn.Module, images, batch_size: int = 512, device=None) -> np.ndarray:
    """Logits ``(N,)`` in evaluation mode (no dropout, BatchNorm's running statistics)."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    x = to_tensor(images)
    out = [model(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out).numpy().astype(np.float64)


def predict_proba(model, images, batch_size: int = 512, device=None, *, flip: bool = False) -> np.ndarray:
    """P(pneumonia) ``(N,)``: the sigmoid of the logits.

    ``model`` may be one network or a list of them (an *ensemble*: the mean of their probabilities).
    ``flip=True`` adds test-time augmentation: each network also sees every image mirrored
    left-right, and the two probabilities are averaged (the networks were trained with flips).
    """
    models = list(model) if isinstance(model, (list, tuple, nn.ModuleList)) else [model]
    if not models:
        raise ValueError("predict_proba: expected a model or a non-empty list of models, got an empty list")
    x = to_tensor(images)
    views = [x, x.flip(-1)] if flip else [x]
    probs = [1.0 / (1.0 + np.exp(-predict_logits(m, v, batch_size, device))) for m in models for v in views]
    return np.mean(probs, axis=0)


def train_classifier(model: nn.Module, train_data, val_data, *, epochs: int, batch_size: int = 64, lr: float = 1e-3,
                     patience: int = 5, pos_weight: float | None = None, augment=None, lr_factor: float = 0.5,
                     lr_patience: int = 2, device=None, seed: int = 0, progress: bool = True,
                     desc: str = "training", monitor: dict | None = None) -> pd.DataFrame:
    """Train with ``BCEWithLogitsLoss`` and Adam; return the history, one row per epoch.

    - ``train_data``, ``val_data``: pairs ``(uint8 images (N, H, W), labels (N,))``.
    - ``pos_weight``: weight of the pneumonia examples in the loss (``n_normal / n_pneumonia``
      balances the classes); ``None`` means 1. The validation loss uses the same weight.
    - ``augment(x, generator)``: applied to every training batch (``x`` float ``(B, 1, H, W)``).
    - ``ReduceLROnPlateau`` multiplies the learning rate by ``lr_factor`` after ``lr_patience``
      epochs without a better validation loss; early stopping ends training after ``patience``
      such epochs and puts the best epoch's weights back (the ``best`` column marks it).
    - Batches are reshuffled every epoch by a ``torch.Generator`` seeded with ``seed`` (also used
      by ``augment``); weights are initialised by whoever built the model (``torch.manual_seed``).

    - ``monitor``: more labelled sets ``{name: (images, labels)}`` scored after every epoch like
      the validation set (columns ``<name>_loss``, ``<name>_accuracy``), only watched: they choose
      nothing.

    Columns: ``epoch, train_loss, train_accuracy`` (running means over the epoch, in training mode:
    with dropout and augmentation), ``val_loss, val_accuracy`` (evaluation mode, threshold 0.5),
    the ``monitor`` columns, ``lr`` (the rate used in the epoch), ``seconds`` and ``best``.
    """
    monitor = dict(monitor or {})
    for name, pair in monitor.items():
        if not (isinstance(name, str) and name.isidentifier()) or name in ("train", "val"):
            raise ValueError(f"monitor: names must be identifiers other than 'train' and 'val', got {name!r}")
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and len(pair[0]) == len(pair[1])):
            raise ValueError(f"monitor[{name!r}]: expected a pair (images, labels) of one length")
    device = torch.device(device) if device is not None else choose_device()
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    x_train, y_train = to_tensor(train_data[0], device), torch.as_tensor(train_data[1], dtype=torch.float32).to(device)
    x_val, y_val = to_tensor(val_data[0], device), torch.as_tensor(val_data[1], dtype=torch.float32).to(device)
    watched = {name: (to_tensor(x, device), torch.as_tensor(y, dtype=torch.float32).to(device))
               for name, (x, y) in monitor.items()}
    weight = torch.tensor(1.0 if pos_weight is None else float(pos_weight), device=device)
    criterion = nn.BCEWithLogitsLoss(pos_weight=weight)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=lr_factor,
                                                           patience=lr_patience)
    rows, best_loss, bad_epochs, best_epoch = [], math.inf, 0, 0
    best_state = copy.deepcopy(model.state_dict())
    # A bar advanced by hand: when early stopping breaks the loop it still counts the last epoch
    bar = progress_bar(None, total=epochs, desc=desc, disable=not progress)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        lr_now = optimizer.param_groups[0]["lr"]
        loss_sum, correct, n = 0.0, 0, len(x_train)
        order = torch.randperm(n, generator=generator).to(device)
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            xb, yb = x_train[idx], y_train[idx]
            if augment is not None:
                xb = augment(xb, generator)
            logits = model(xb)
            loss = criterion(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            correct += ((logits.detach() > 0).float() == yb).sum().item()
        model.eval()
        scores = {}
        with torch.no_grad():
            for name, (x_eval, y_eval) in [("val", (x_val, y_val)), *watched.items()]:
                logits_eval = torch.cat([model(x_eval[i:i + 512]) for i in range(0, len(x_eval), 512)])
                scores[f"{name}_loss"] = criterion(logits_eval, y_eval).item()
                scores[f"{name}_accuracy"] = ((logits_eval > 0).float() == y_eval).float().mean().item()
        val_loss, val_acc = scores["val_loss"], scores["val_accuracy"]
        scheduler.step(val_loss)
        row = {"epoch": epoch, "train_loss": loss_sum / n, "train_accuracy": correct / n, **scores,
               "lr": lr_now, "seconds": time.perf_counter() - start}
        rows.append(row)
        if not math.isfinite(val_loss):
            raise FloatingPointError(f"epoch {epoch}: the validation loss is {val_loss}; lower the learning rate")
        # refresh=False: the bar redraws at its own pace (a saved notebook keeps every redraw of a text bar)
        bar.set_postfix({"train_loss": f"{row['train_loss']:.3f}", "val_loss": f"{val_loss:.3f}",
                         "val_acc": f"{val_acc:.3f}"}, refresh=False)
        bar.update(1)
        if val_loss < best_loss:
            best_loss, best_epoch, bad_epochs = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                break
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    history = pd.DataFrame(rows)
    history["best"] = history["epoch"] == best_epoch
    return history


# --------------------------------------------------------------------------- metrics


def binary_metrics(y_true, prob, threshold: float = 0.5) -> dict:
    """Accuracy, precision, recall (sensitivity), specificity, F1, ROC-AUC and the confusion counts.

    An image counts as pneumonia when ``prob >= threshold``. ``auc`` (scikit-learn's
    ``roc_auc_score``) uses the scores, not the threshold. A ratio with nothing to count
    (precision with no positive prediction, say) is 0.0, as scikit-learn's ``zero_division=0``.
    """
    from sklearn.metrics import roc_auc_score

    y_true, prob = np.asarray(y_true).ravel(), np.asarray(prob, dtype=np.float64).ravel()
    if y_true.shape != prob.shape:
        raise ValueError(f"y_true and prob must have the same length, got {y_true.shape} and {prob.shape}")
    if not np.isin(y_true, [0, 1]).all():
        raise ValueError("y_true must hold 0 and 1 only")
    pred = prob >= threshold
    tp = int(np.sum(pred & (y_true == 1)))
    fp = int(np.sum(pred & (y_true == 0)))
    tn = int(np.sum(~pred & (y_true == 0)))
    fn = int(np.sum(~pred & (y_true == 1)))
    ratio = lambda a, b: a / b if b else 0.0
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {
        "accuracy": ratio(tp + tn, len(y_true)),
        "precision": precision,
        "recall": recall,
        "specificity": ratio(tn, tn + fp),
        "f1": ratio(2 * precision * recall, precision + recall),
        "auc": float(roc_auc_score(y_true, prob)) if 0 < y_true.sum() < len(y_true) else float("nan"),
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
    }


def youden_threshold(y_true, prob) -> tuple[float, float]:
    """The threshold that maximises Youden's J = sensitivity + specificity - 1 on (validation) data.

    Returns ``(threshold, J)``; predict pneumonia when ``prob >= threshold``. Among equal J the
    highest threshold wins (scikit-learn's ``roc_curve`` lists thresholds from high to low).
    """
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(np.asarray(y_true).ravel(), np.asarray(prob).ravel())
    j = (tpr - fpr)[1:]                                   # thresholds[0] is +inf (nothing positive)
    best = int(np.flatnonzero(j >= j.max() - 1e-12)[0]) + 1  # ties up to rounding: 1 - 1/3 > 2/3 in floats
    return float(thresholds[best]), float(j[best - 1])


# --------------------------------------------------------------------------- Grad-CAM


def grad_cam(model: nn.Module, images, layer: nn.Module, sign=None, device=None) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM maps (Selvaraju et al., 2017) for a one-logit classifier, scaled to [0, 1] per image.

    For each image, the activations ``A`` of ``layer`` ``(K, h, w)`` are weighted by the mean over
    the map of the gradient of the score, ``alpha_k = mean(d score / d A_k)``, summed over the
    ``K`` channels and passed through ReLU: the places whose features pushed the score *up*.
    The score is ``sign * logit``: ``sign = +1`` explains "pneumonia", ``-1`` explains "normal";
    by default each image's predicted class. The ``(h, w)`` map is upsampled bilinearly to the
    image size and divided by its maximum (an all-zero map stays zero).

    Returns ``(cams (N, H, W) in [0, 1], logits (N,))``. The model is used in evaluation mode.
    """
    device = device or next(model.parameters()).device
    x = to_tensor(images, device).clone().requires_grad_(True)  # so that every activation has a gradient
    saved = {}

    def hook(module, inputs, output):
        output.retain_grad()
        saved["a"] = output

    handle = layer.register_forward_hook(hook)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            logits = model(x)
            if sign is None:
                s = torch.where(logits > 0, 1.0, -1.0).detach()
            else:
                s = torch.as_tensor(sign, dtype=logits.dtype, device=device).expand_as(logits)
            model.zero_grad(set_to_none=True)
            (s * logits).sum().backward()
    finally:
        handle.remove()
        model.train(was_training)
    a, g = saved["a"].detach(), saved["a"].grad
    alpha = g.mean(dim=(2, 3), keepdim=True)                           # (N, K, 1, 1)
    cam = torch.relu((alpha * a).sum(dim=1, keepdim=True))             # (N, 1, h, w)
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    peak = cam.flatten(1).max(dim=1).values.clamp_min(1e-12)[:, None, None]
    cam = (cam / peak).clamp(0.0, 1.0)
    model.zero_grad(set_to_none=True)
    return cam.cpu().numpy(), logits.detach().cpu().numpy().astype(np.float64)
