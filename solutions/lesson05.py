"""Worked solutions of lesson 05's code exercises (checked by ``course_utils.exercises.lesson05``)."""

import numpy as np


def last_and_max_forward(hs):
    """(N, T', H) -> (N, 2H): the last hidden state, then each unit's maximum over the steps."""
    # The order of the two halves is a convention; the Dense layer that follows learns weights for both
    return np.concatenate([hs[:, -1], hs.max(axis=1)], axis=1)


def last_and_max_backward(dout, hs):
    """(N, 2H) -> (N, T', H): each half of dout goes back to the entries its half of the output read."""
    H = hs.shape[2]
    d_last, d_max = dout[:, :H], dout[:, H:]                  # the two halves, (N, H) each
    dhs = np.zeros_like(hs)
    # The maximum passes its gradient to the step that held it, and to no other (as GlobalMaxPool1D does).
    # argmax recomputes that step from hs; the forward could also have cached it.
    idx = hs.argmax(axis=1)                                   # (N, H): the winning step of every unit
    np.put_along_axis(dhs, idx[:, None, :], d_max[:, None, :], axis=1)
    # The last state is read as it is: its gradient arrives at step T'-1. Add it, do not overwrite: where a
    # unit's maximum is at the last step, the same entry was read twice and gets both gradients.
    dhs[:, -1] += d_last
    return dhs


def choose_mixture_weight(p_model, p_bigram, targets, alphas):
    """The alpha of the mixture alpha * p_model + (1 - alpha) * p_bigram with the lowest loss; every loss."""
    rows = np.arange(len(targets))
    # Only the target's probability enters the cross-entropy, so mix just those two columns: (N,) each
    q_model, q_bigram = p_model[rows, targets], p_bigram[rows, targets]
    # Mix the probabilities, not their logarithms: a mixture of two distributions is again a distribution,
    # and it stays large wherever either model is sure of the right word. (N, A) by broadcasting.
    q = alphas[None, :] * q_model[:, None] + (1 - alphas[None, :]) * q_bigram[:, None]
    losses = -np.log(q).mean(axis=0)                          # (A,): mean nats per target, one per alpha
    # argmin returns the first minimum, so a tie goes to the earlier alpha in the list
    return float(alphas[np.argmin(losses)]), losses
