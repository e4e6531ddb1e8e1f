"""One seed for every source of randomness the course uses.

Layers draw their initial weights and dropout masks from :func:`get_rng` unless they
are given a generator of their own, so ``seed_everything(0)`` makes a whole notebook
repeatable: same weights, same batches, same losses, bit for bit.
"""

from __future__ import annotations

import os
import random

import numpy as np

_rng = np.random.default_rng(0)


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python, NumPy (legacy and the course generator) and, if installed, PyTorch.

    Returns the course generator, freshly seeded.
    """
    global _rng
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses; this process is already running
    random.seed(seed)
    np.random.seed(seed)
    _rng = np.random.default_rng(seed)
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.manual_seed(seed)
    return _rng


def get_rng(rng: np.random.Generator | None = None) -> np.random.Generator:
    """Return ``rng`` if given, else the course generator that :func:`seed_everything` resets."""
    if rng is None:
        return _rng
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng
