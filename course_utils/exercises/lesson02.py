"""Checkers for the exercises of lesson 02 (a character-level LSTM on Dickens)."""

from __future__ import annotations

import numpy as np

from course_utils.exercises.checking import expect_close, report
from course_utils.layers import LSTM, lstm_step_forward


def _bigram_reference(train_ids, val_ids, V):
    counts = np.ones((V, V))                                   # add-one: every pair seen once more
    np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)
    probs = counts / counts.sum(axis=1, keepdims=True)         # row a: p(next | a)
    return float(-np.mean(np.log(probs[val_ids[:-1], val_ids[1:]])))


def check_bigram_cross_entropy(bigram_cross_entropy, seed: int = 0) -> None:
    """Exercise: ``bigram_cross_entropy(train_ids, val_ids, V) -> nats per character``.

    A character bigram model with add-one smoothing, counted on ``train_ids``: ``p(b | a) = (n(a, b) + 1) /
    (n(a) + V)``, where ``n(a)`` counts the training pairs that start with ``a``. It predicts every
    validation character after the first from the one before it; the answer is the mean ``-ln p``.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    for case, (V, n_train, n_val) in enumerate([(5, 200, 50), (12, 1000, 300), (3, 2, 2)]):
        # A skewed text, so that the bigram differs from the unigram; the last case has unseen pairs
        train = rng.choice(V, n_train, p=np.arange(1, V + 1) / np.arange(1, V + 1).sum())
        val = rng.integers(0, V, n_val)
        answer = bigram_cross_entropy(train, val, V)
        expected = _bigram_reference(train, val, V)
        errors[f"case {case}"] = expect_close("cross-entropy", float(answer), expected, tol=1e-10)
    report("bigram_cross_entropy", errors)


def check_bptt_with_final_state(lstm_backward, seed: int = 0) -> None:
    """Exercise: BPTT with a gradient arriving at the final state, as ``course_utils.LSTM`` supports.

    ``lstm_backward(dhs, caches, dh_T, dc_T) -> (dx, grads, (dh_0, dc_0))``: ``caches`` are the
    ``lstm_step_forward`` caches of steps 1..T, ``dhs (N, T, H)`` the loss's gradient at every ``h_t``,
    ``dh_T, dc_T (N, H)`` gradients arriving at the final state; ``dx (N, T, D)``, ``grads`` a dict with
    ``W_x``, ``W_h``, ``b``. Checked against ``course_utils.LSTM.backward(dy, d_final_state=...)``.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    for N, T, D, H in [(2, 1, 3, 4), (3, 6, 2, 5)]:
        layer = LSTM(D, H, rng=rng, dtype=np.float64)
        layer.params["b"][...] = rng.standard_normal(4 * H)
        x, dy = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
        h0, c0, dh_T, dc_T = (rng.standard_normal((N, H)) for _ in range(4))
        layer.forward(x, initial_state=(h0, c0))
        dx_ref = layer.backward(dy, d_final_state=(dh_T, dc_T))
        h, c, caches = h0, c0, []
        for t in range(T):
            h, c, cache = lstm_step_forward(x[:, t], h, c, **layer.params)
            caches.append(cache)
        dx, grads, (dh0, dc0) = lstm_backward(dy, caches, dh_T, dc_T)
        errors[f"dx, T={T}"] = expect_close("dx", dx, dx_ref, tol=1e-10)
        for key in ("W_x", "W_h", "b"):
            errors[f"{key}, T={T}"] = expect_close(f"grads[{key!r}]", grads[key], layer.grads[key], tol=1e-10)
        errors[f"dh_0, T={T}"] = expect_close("dh_0", dh0, layer.d_initial_state[0], tol=1e-10)
        errors[f"dc_0, T={T}"] = expect_close("dc_0", dc0, layer.d_initial_state[1], tol=1e-10)
    report("lstm_backward with the final state's gradient", errors)
