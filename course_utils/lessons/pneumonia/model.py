"""Chest X-ray classification (lesson 07): the CNN, and its predictions for uint8 images.

    model = build_cnn(28, mean=..., std=...)    # 4 conv blocks -> 256 -> 128 -> 1 logit
    prob = predict_proba([model, ...], images, flip=True)   # P(pneumonia): several networks, both views
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from course_utils.lessons.pneumonia.data import to_tensor


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

    def __init__(self, standardize: Standardize, blocks: nn.ModuleList, head: nn.Sequential,
                 sizes: list[int]):
        super().__init__()
        self.standardize, self.blocks, self.head = standardize, blocks, head
        self.sizes = sizes  # the side of the feature map after each block, input first

    def forward(self, x):                         # (N, 1, H, W) in [0, 1]
        x = self.standardize(x)
        for block in self.blocks:
            x = block(x)                          # (N, C_i, H_i, W_i)
        return self.head(x.flatten(1))[:, 0]      # (N,) logits


def build_cnn(image_size: int = 28, *, channels=(32, 64, 128, 256), hidden=(256, 128),
              conv_dropout: float = 0.25, dense_dropout: float = 0.5, mean: float = 0.0, std: float = 1.0,
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
