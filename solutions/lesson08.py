"""Worked solutions of lesson 08's code exercises (checked by ``course_utils.exercises.lesson08``)."""

import numpy as np


def softmax(z):
    """Row-wise softmax; subtracting the row's maximum first keeps exp from overflowing."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def double_softmax_backward(z, y):
    """Gradient of mean(-ln softmax(softmax(z))[y]) with respect to z: (N, C) -> (N, C)."""
    N = len(y)
    s = softmax(z)                  # the first softmax: what the last Dense layer's softmax gives
    p = softmax(s)                  # the second one, applied to probabilities in [0, 1]
    # The loss is an ordinary cross-entropy on the inputs s of the second softmax: its gradient with
    # respect to s is p minus the one-hot target, divided by N because the loss is a mean over sentences
    ds = p.copy()
    ds[np.arange(N), y] -= 1
    ds /= N
    # Back through the first softmax: its Jacobian is ds_i/dz_j = s_i (delta_ij - s_j), so
    # dz_j = sum_i ds_i s_i (delta_ij - s_j) = s_j (ds_j - sum_i ds_i s_i)
    return s * (ds - np.sum(ds * s, axis=1, keepdims=True))


def shuffle_tokens(ids, rng, pad_id=0):
    """Every row's real tokens in a random order of their own; the padding stays at the end."""
    out = np.array(ids, copy=True)              # a new array: the test ids stay as they were
    for row in out:                             # each row is a view into out, so writing to it fills out
        n = int(np.sum(row != pad_id))          # the sentence's length: its real tokens come first
        row[:n] = rng.permutation(row[:n])      # one permutation per sentence, drawn from the generator
    return out
