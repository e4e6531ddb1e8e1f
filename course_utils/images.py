"""Chest X-ray classification with PyTorch (lesson 07): data, augmentation, model, training, metrics, Grad-CAM.

    data = load_pneumonia("balanced", 28)          # the offline, class-balanced 28-pixel file (the mirror)
    print(data.summary()); data.description        # counts per class per split, image size
    model = build_cnn(28, mean=..., std=...)       # 4 conv blocks -> 256 -> 128 -> 1 logit
    history = train_classifier(model, data.train, data.val, epochs=40, augment=random_affine)
    prob = predict_proba(model, data.test[0])      # P(pneumonia) per image
    binary_metrics(data.test[1], prob, threshold=0.5)

Images stay ``uint8`` arrays of shape ``(N, H, W)`` until they meet the model; every function that
feeds the model turns them into float tensors ``(N, 1, H, W)`` in [0, 1]. The model standardises
its input itself (with the training mean and standard deviation), so augmentation, prediction and
Grad-CAM all work on plain [0, 1] images. Labels are ``int64`` arrays of shape ``(N,)``:
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

from .training import progress_bar

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


def default_device() -> torch.device:
    """The GPU if PyTorch sees one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


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
              dense_dropout: float = 0.5, mean: float = 0.0, std: float = 1.0) -> PneumoniaCNN:
    """The lesson's CNN for square grayscale images of side ``image_size``.

    One block per entry of ``channels`` while the feature map can still be halved (side >= 2);
    MaxPool2d floors odd sides (28 -> 14 -> 7 -> 3 -> 1). Then Linear layers of ``hidden`` sizes,
    each ReLU -> Dropout(``dense_dropout``), and a Linear to one logit.
    """
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
    return PneumoniaCNN(Standardize(mean, std), blocks, nn.Sequential(*layers), sizes)


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


def predict_proba(model: nn.Module, images, batch_size: int = 512, device=None) -> np.ndarray:
    """P(pneumonia) ``(N,)``: the sigmoid of the logits."""
    logits = predict_logits(model, images, batch_size, device)
    return 1.0 / (1.0 + np.exp(-logits))


def train_classifier(model: nn.Module, train_data, val_data, *, epochs: int, batch_size: int = 64, lr: float = 1e-3,
                     patience: int = 5, pos_weight: float | None = None, augment=None, lr_factor: float = 0.5,
                     lr_patience: int = 2, device=None, seed: int = 0, progress: bool = True,
                     desc: str = "training") -> pd.DataFrame:
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

    Columns: ``epoch, train_loss, train_accuracy`` (running means over the epoch, in training mode:
    with dropout and augmentation), ``val_loss, val_accuracy`` (evaluation mode, threshold 0.5),
    ``lr`` (the rate used in the epoch), ``seconds`` and ``best``.
    """
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    x_train, y_train = to_tensor(train_data[0], device), torch.as_tensor(train_data[1], dtype=torch.float32).to(device)
    x_val, y_val = to_tensor(val_data[0], device), torch.as_tensor(val_data[1], dtype=torch.float32).to(device)
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
        with torch.no_grad():
            val_logits = torch.cat([model(x_val[i:i + 512]) for i in range(0, len(x_val), 512)])
            val_loss = criterion(val_logits, y_val).item()
            val_acc = ((val_logits > 0).float() == y_val).float().mean().item()
        scheduler.step(val_loss)
        row = {"epoch": epoch, "train_loss": loss_sum / n, "train_accuracy": correct / n, "val_loss": val_loss,
               "val_accuracy": val_acc, "lr": lr_now, "seconds": time.perf_counter() - start}
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
