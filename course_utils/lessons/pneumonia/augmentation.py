"""Chest X-ray classification (lesson 07): augmentation written with torch operations:
geometry (affine warps) and exposure.

    augment = lambda x, g: random_intensity(random_affine(x, g), g)   # a new view of each batch, every epoch
    x_shift, _ = shifted_copy(images, seed=1, geometry={...}, intensity={...})   # a harder validation set

Every function takes float images ``(N, 1, H, W)`` in [0, 1] and returns the same shape.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from course_utils.lessons.pneumonia.data import to_tensor


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
        raise ValueError(f"apply_affine: theta must have shape ({x.shape[0]}, 2, 3), "
                         f"got {tuple(theta.shape)}")
    grid = F.affine_grid(theta.to(x.device, torch.float64), list(x.shape), align_corners=False)
    out = F.grid_sample(x.double(), grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)
    return out.masked_fill_(out.abs() < 1e-12, 0.0).to(x.dtype)


def random_affine(x: torch.Tensor, generator: torch.Generator | None = None, *, max_rotation: float = 15.0,
                  flip_prob: float = 0.5, max_shift: float = 0.1,
                  scale_range: tuple[float, float] = (0.9, 1.1), padding_mode: str = "zeros",
                  return_params: bool = False):
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
    theta = affine_theta(params["angle"], params["scale"], params["shift_x"], params["shift_y"],
                         params["flip"])
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
            raise ValueError(f"adjust_intensity: {name} must be one number or one per image ({n}), "
                             f"got {len(v)}")
        if not torch.isfinite(v).all():
            raise ValueError(f"adjust_intensity: {name} must be finite, got {v.tolist()}")
        return v.expand(n).to(x.device)[:, None, None, None]

    gamma, contrast, brightness, noise = (per_image(v, k) for v, k in
                                          [(gamma, "gamma"), (contrast, "contrast"),
                                           (brightness, "brightness"), (noise, "noise")])
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
        raise ValueError("shifted_copy: expected uint8 images of shape (N, H, W), "
                         f"got {images.dtype} {images.shape}")
    geometry = dict(geometry or {})
    intensity = dict(intensity or {})
    if geometry:       # only what is asked for; film edges repeated
        geometry = {"max_rotation": 0.0, "flip_prob": 0.0, "max_shift": 0.0, "scale_range": (1.0, 1.0),
                    "padding_mode": "border", **geometry}
    if intensity:
        intensity = {"gamma": (1.0, 1.0), "contrast": (1.0, 1.0), "brightness": 0.0, "blur": (0.0, 0.0),
                     **intensity}
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
