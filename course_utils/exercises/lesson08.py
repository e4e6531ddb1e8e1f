"""Checkers for the exercises of lesson 08 (emoji prediction with an LSTM on frozen word embeddings)."""

from __future__ import annotations

import numpy as np

from course_utils.exercises.checking import expect_close, expect_shape, report
from course_utils.gradcheck import numerical_gradient
from course_utils.losses import softmax


def _double_softmax_loss(z, y) -> float:
    """Mean cross-entropy of a model with one softmax too many: ``-ln softmax(softmax(z))[y]``."""
    p = softmax(softmax(z))
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def check_double_softmax_backward(double_softmax_backward, seed: int = 0) -> None:
    """Exercise: ``double_softmax_backward(z, y) -> dz``, the gradient of the loss of a model with one
    softmax too many.

    ``z (N, C)`` are the last Dense layer's outputs, ``y (N,)`` the true classes (ints in ``0..C-1``); the
    loss is the mean over the N sentences of ``-ln softmax(softmax(z))[y]``, and ``dz (N, C)`` its gradient
    with respect to ``z``. Checked against centred differences in float64 on random logits.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    for N, C, scale in [(1, 2, 1.0), (4, 5, 0.1), (6, 5, 3.0), (3, 7, 10.0)]:
        z = rng.standard_normal((N, C)) * scale        # small logits (an untrained model) and large ones
        y = rng.integers(0, C, N)
        answer = expect_shape("dz", double_softmax_backward(z.copy(), y.copy()), (N, C))
        numeric = numerical_gradient(lambda: _double_softmax_loss(z, y), z)
        errors[f"N={N}, C={C}, logits of size {scale:g}"] = expect_close("dz", answer, numeric)
    report("double_softmax_backward", errors)


def _rows_with_padding(rng, lengths, T, pad_id, tokens):
    """(N, T) int64 ids: row n holds ``lengths[n]`` tokens drawn from ``tokens``, then ``pad_id``."""
    ids = np.full((len(lengths), T), pad_id, dtype=np.int64)
    for n, length in enumerate(lengths):
        ids[n, :length] = rng.choice(tokens, length)
    return ids


def _check_one_shuffle(shuffle_tokens, ids, pad_id, seed) -> np.ndarray:
    """The exact properties of a shuffle that keeps the padding in place; returns the shuffled ids."""
    before = ids.copy()
    out = shuffle_tokens(ids, np.random.default_rng(seed), pad_id=pad_id)
    out = expect_shape("shuffled ids", out, ids.shape)
    assert np.array_equal(ids, before), "shuffle_tokens changed the ids it was given: shuffle a copy"
    for n in range(len(ids)):
        assert np.array_equal(out[n] == pad_id, ids[n] == pad_id), (
            f"row {n}: the padding moved, {ids[n].tolist()} -> {out[n].tolist()}; shuffle only the real "
            "tokens, the padding stays at the end")
        assert np.array_equal(np.sort(out[n]), np.sort(ids[n])), (
            f"row {n}: the tokens are not those of the sentence, {ids[n].tolist()} -> {out[n].tolist()}")
    again = np.asarray(shuffle_tokens(ids, np.random.default_rng(seed), pad_id=pad_id))
    assert np.array_equal(again, out), ("two calls with generators of the same seed gave different orders: "
                                        "draw every random number from `rng`")
    return out


def check_shuffle_tokens(shuffle_tokens, seed: int = 0) -> None:
    """Exercise: ``shuffle_tokens(ids, rng, pad_id=0) -> shuffled (N, T)``.

    ``ids (N, T)`` are token ids, each row a sentence followed by padding (``pad_id``) at the end; ``rng`` is
    a ``np.random.Generator``. Every row's real tokens are put in a random order of their own, the padding
    stays where it is, and ``ids`` itself is not changed. Checked directly: same shape, padding in place,
    the same tokens in every row, the same answer for the same seed, and, over many rows, every position
    equally likely to receive each token (a uniform shuffle of each row on its own).
    """
    rng = np.random.default_rng(seed)
    errors = {}
    for case, (N, T, V, pad_id) in enumerate([(40, 12, 30, 0), (15, 8, 10, 3)]):
        tokens = np.setdiff1d(np.arange(V), [pad_id])
        ids = _rows_with_padding(rng, rng.integers(1, T + 1, N), T, pad_id, tokens)
        _check_one_shuffle(shuffle_tokens, ids, pad_id, seed + case)   # asserts; nothing to measure
    # Many sentences of 3 and 4 distinct tokens, 10, 11, 12, (13): where does the token of position i go?
    lengths = np.tile([3, 4], 1500)
    ids = np.zeros((len(lengths), 6), dtype=np.int64)
    for n, length in enumerate(lengths):
        ids[n, :length] = 10 + np.arange(length)
    out = _check_one_shuffle(shuffle_tokens, ids, 0, seed + 2)
    for length in (3, 4):
        rows = out[lengths == length, :length]
        share = np.array([[np.mean(rows[:, j] == 10 + i) for j in range(length)] for i in range(length)])
        i, j = np.unravel_index(np.argmax(np.abs(share - 1 / length)), share.shape)
        deviation = float(abs(share[i, j] - 1 / length) * length)      # relative to the expected share
        assert deviation < 0.3, (
            f"sentences of {length} tokens: the token at position {i} ends at position {j} in "
            f"{share[i, j]:.0%} of them, not about {1 / length:.0%}: give every row a uniformly random "
            "order of its own")
        errors[f"uniform order, {length} tokens"] = deviation
    report("shuffle_tokens", errors, measure="deviation from a uniform order")
