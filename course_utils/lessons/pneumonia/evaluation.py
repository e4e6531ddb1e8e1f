"""Chest X-ray classification (lesson 07): how sure is a difference in ROC-AUC on one test split?

    gain, se = auc_gain(y_test, cnn_prob, baseline_prob)     # AUC(cnn) - AUC(baseline), its standard error
    assert gain > se                                          # "beats the baseline", as the lessons claim it

The test images are resampled with replacement (a *paired* bootstrap: both models are scored on the same
resampled images), and the standard deviation of the difference over the resamples is its standard
error. Pairing removes what the images share: an image that is hard for one model is usually hard for
the other, so the difference is much surer than either AUC alone.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def roc_auc(y, prob) -> np.ndarray:
    """ROC-AUC of the scores ``prob`` ``(..., N)`` for labels ``y`` ``(..., N)`` in {0, 1}, row by row.

    The Mann-Whitney form: the share of (pneumonia, normal) pairs in which the pneumonia image scores
    higher, ties counting one half, computed from the ranks of the scores within each row. Rows with
    only one class give NaN. Equal to scikit-learn's ``roc_auc_score`` for every row that has both.
    """
    y, prob = np.asarray(y), np.asarray(prob, dtype=np.float64)
    if y.shape != prob.shape or y.ndim == 0:
        raise ValueError(f"roc_auc: y and prob must have one shape (..., N), got {y.shape} and {prob.shape}")
    if not np.isin(y, [0, 1]).all():
        raise ValueError("roc_auc: y must hold 0 and 1 only")
    ranks = rankdata(prob, axis=-1)                                   # average ranks: ties count one half
    n_pos = y.sum(axis=-1)
    n_neg = y.shape[-1] - n_pos
    rank_sum = np.sum(ranks * (y == 1), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def auc_gain(y, prob, baseline_prob, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """``(gain, standard_error)``: ``AUC(prob) - AUC(baseline_prob)`` on ``y``, and the paired bootstrap
    standard error of that difference (``n_boot`` resamples of the images, drawn with ``seed``).

    Claim "the model beats the baseline" only when ``gain > standard_error``.
    """
    y = np.asarray(y)
    prob, baseline_prob = np.asarray(prob, np.float64), np.asarray(baseline_prob, np.float64)
    if not (y.ndim == 1 and prob.shape == baseline_prob.shape == y.shape and len(y) >= 2):
        raise ValueError(f"auc_gain: expected three (N,) arrays with N >= 2, got shapes "
                         f"{y.shape}, {prob.shape} and {baseline_prob.shape}")
    if not 0 < y.sum() < len(y):
        raise ValueError("auc_gain: y must hold both classes")
    if n_boot < 2:
        raise ValueError(f"auc_gain: n_boot must be at least 2, got {n_boot}")
    gain = float(roc_auc(y, prob) - roc_auc(y, baseline_prob))
    idx = np.random.default_rng(seed).integers(0, len(y), size=(n_boot, len(y)))   # (n_boot, N) resamples
    diffs = roc_auc(y[idx], prob[idx]) - roc_auc(y[idx], baseline_prob[idx])         # (n_boot,)
    diffs = diffs[np.isfinite(diffs)]                                   # a resample with one class: skipped
    if len(diffs) < n_boot / 2:
        raise ValueError(f"auc_gain: only {len(diffs)} of {n_boot} resamples hold both classes; "
                         "too few images of one class for a standard error")
    return gain, float(diffs.std(ddof=1))
