"""Worked solutions of lesson 07's code exercises (checked by ``course_utils.exercises.lesson07``)."""

import numpy as np


def cost_threshold(y, prob, cost_fn=5.0, cost_fp=1.0):
    """The threshold with the lowest ``cost_fn * FN + cost_fp * FP``; returns ``(threshold, cost)``."""
    y, prob = np.asarray(y), np.asarray(prob, dtype=np.float64)
    # Between two neighbouring probabilities no decision changes, so only the probabilities themselves
    # need trying, plus inf: "call nothing pneumonia". From high to low, so that argmin, which returns
    # the first of equal costs, keeps the highest threshold (the fewest false alarms among equals).
    candidates = np.append(np.inf, np.unique(prob)[::-1])               # (M,)
    called = prob[None, :] >= candidates[:, None]                       # (M, N): the decisions at each
    missed = np.sum(~called & (y == 1), axis=1)                         # FN: pneumonia called normal
    false_alarms = np.sum(called & (y == 0), axis=1)                    # FP: normal called pneumonia
    costs = cost_fn * missed + cost_fp * false_alarms                   # (M,) the total cost of each
    best = int(np.argmin(costs))
    return float(candidates[best]), float(costs[best])


def calibration_table(y, prob, n_bins=10):
    """Per equal-width bin of ``prob``: the mean predicted probability, the share of positives, the count."""
    y, prob = np.asarray(y, dtype=np.float64), np.asarray(prob, dtype=np.float64)
    # Bin b holds b/n <= p < (b+1)/n: floor(p * n). p = 1 would land in bin n, one past the end, so it
    # joins the last bin (the top edge is inside, as in np.histogram)
    bins = np.minimum(np.floor(prob * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)                        # (n_bins,) examples per bin
    sum_prob = np.bincount(bins, weights=prob, minlength=n_bins)        # what the model predicted, summed
    sum_pos = np.bincount(bins, weights=y, minlength=n_bins)            # what happened, summed
    with np.errstate(invalid="ignore"):                                 # 0 / 0 in an empty bin: NaN
        mean_prob = sum_prob / counts
        frac_pos = sum_pos / counts
    # A calibrated model has frac_pos close to mean_prob in every bin; plot one against the other and
    # compare with the diagonal. Bins with few examples are noisy: counts says which to trust.
    return mean_prob, frac_pos, counts
