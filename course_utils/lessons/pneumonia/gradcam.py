"""Chest X-ray classification (lesson 07): Grad-CAM: which pixels pushed the prediction.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.lessons.pneumonia.data import to_tensor


def grad_cam(model: nn.Module, images, layer: nn.Module, sign=None,
             device=None) -> tuple[np.ndarray, np.ndarray]:
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
