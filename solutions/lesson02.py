"""Worked solutions of lesson 02's code exercises (checked by ``course_utils.exercises.lesson02``)."""

import numpy as np

from course_utils.layers import lstm_step_backward


def bigram_cross_entropy(train_ids, val_ids, V):
    """Validation nats per character of an add-one character bigram model counted on the training ids."""
    counts = np.ones((V, V))                                  # add-one: no pair has probability 0
    # n(a, b): how often a is followed by b (np.add.at counts a repeated pair every time)
    np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)
    probs = counts / counts.sum(axis=1, keepdims=True)        # p(b | a) = (n(a, b) + 1) / (n(a) + V)
    return float(-np.mean(np.log(probs[val_ids[:-1], val_ids[1:]])))   # every character after the first


def lstm_backward(dhs, caches, dh_T, dc_T):
    """BPTT over the cached steps, starting from gradients at the final state (dh_T, dc_T)."""
    dh, dc = dh_T, dc_T                 # what reaches step T from outside (the next chunk, say)
    grads, dxs = None, []
    for t in reversed(range(len(caches))):
        # h_t gets the loss's gradient at step t plus what step t+1 sent back; c_t only the latter
        dx, dh, dc, dW_x, dW_h, db = lstm_step_backward(dhs[:, t] + dh, dc, caches[t])
        step = {"W_x": dW_x, "W_h": dW_h, "b": db}
        grads = step if grads is None else {key: grads[key] + step[key] for key in step}
        dxs.append(dx)
    return np.stack(dxs[::-1], axis=1), grads, (dh, dc)
