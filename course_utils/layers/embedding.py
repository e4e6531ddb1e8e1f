"""Embedding: look up one learned vector per token id."""

from __future__ import annotations

import numpy as np

from ..seeding import get_rng
from .base import Layer, check_grad


class Embedding(Layer):
    """Token ids to vectors: ``ids (N, T) int -> (N, T, E)``; also ``(N,) -> (N, E)``.

    Parameter: ``W (V, E)``, initialised from N(0, 1) as ``torch.nn.Embedding``.
    ``padding_idx`` (optional): that row starts at zero and never receives a gradient,
    so padding contributes nothing. ``trainable=False`` freezes the table (its gradient
    stays zero), which is what "frozen pre-trained embeddings" must mean.

    ``backward`` writes the gradient into ``grads["W"]`` (rows of repeated ids are summed) and
    returns ``None``: integer ids have no gradient.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, *, padding_idx: int | None = None,
                 trainable: bool = True, rng=None, dtype=np.float32):
        super().__init__(dtype)
        if padding_idx is not None and not 0 <= padding_idx < num_embeddings:
            raise ValueError(f"padding_idx must be in [0, {num_embeddings}), got {padding_idx}")
        rng = get_rng(rng)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx, self.trainable = padding_idx, trainable
        W = rng.standard_normal((num_embeddings, embedding_dim)).astype(self.dtype)
        if padding_idx is not None:
            W[padding_idx] = 0.0
        self.params = {"W": W}
        self.zero_grad()

    def forward(self, ids, training: bool = True):
        """Look up one row of ``W`` per token id: ``y = W[ids]``.

        Inputs:
        - ids: (N, T) or (N,) integer array, values in [0, V); float ids are refused.
        - training: unused.

        Returns:
        - y: (N, T, E) or (N, E), in the layer's dtype (a new array).

        Caches ``ids`` for ``backward``.
        """
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            raise ValueError(f"Embedding input: expected integer token ids, got dtype {ids.dtype} "
                             "(float indices are not allowed; convert with ids.astype(np.int64))")
        if ids.ndim not in (1, 2):
            raise ValueError("Embedding input: expected a 1-D (N,) or 2-D (N, T) array of ids, "
                             f"got shape {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise ValueError(f"Embedding input: ids must be in [0, {self.num_embeddings}), "
                             f"got values from {ids.min()} to {ids.max()}")
        self._cache = ids
        return self.params["W"][ids]

    def backward(self, dy):
        """Scatter-add ``dy`` into the rows of ``W`` picked by the cached ids.

        Inputs:
        - dy: (N, T, E) or (N, E), the shape of the forward output.

        Returns:
        - None: integer ids have no gradient.

        Fills ``grads["W"]`` (V, E): repeated ids are summed, the ``padding_idx`` row stays zero,
        and the whole gradient is zero when ``trainable=False``.
        """
        ids = self._need_cache()
        dy = check_grad(dy, ids.shape + (self.embedding_dim,), self)
        dW = np.zeros_like(self.params["W"])
        if self.trainable:
            # np.add.at sums the rows of tokens that occur several times; plain
            # fancy-index assignment would keep only the last one.
            np.add.at(dW, ids.reshape(-1), dy.reshape(-1, self.embedding_dim))
            if self.padding_idx is not None:
                dW[self.padding_idx] = 0.0
        self.grads["W"] = dW
        return None
