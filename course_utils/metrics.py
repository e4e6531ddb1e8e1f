"""Metrics that several lessons share: top-k accuracy, cross-entropy and perplexity from scores,
binary metrics with a threshold chosen on validation, and a paired test of two classifiers.

    top_k_accuracy(scores, targets, k=5)      # scores (N, V) logits or probabilities, targets (N,) int
    perplexity(probs, targets)                # exp(mean -ln p[target])
    binary_metrics(y_true, prob, threshold)   # accuracy, precision, recall, specificity, F1, ROC-AUC
    youden_threshold(y_val, prob_val)         # the threshold, chosen on validation data
    compare_paired(y_true, pred_a, pred_b)    # McNemar's exact test: are two models really different?
    paired_gain(model_losses, baseline_losses)  # how much lower a model's loss is, with its standard error

scikit-learn and SciPy are imported inside the functions that need them.
"""

from __future__ import annotations

import numpy as np


def check_targets(Y, n: int | None = None, vocab_size: int | None = None) -> np.ndarray:
    """Integer class ids ``(N,)``: ``n`` of them, each in ``[0, vocab_size)`` when given; else ValueError."""
    Y = np.asarray(Y)
    if Y.ndim != 1 or Y.dtype.kind not in "iu":
        raise ValueError(f"targets: expected integer ids of shape (N,), got shape {Y.shape} "
                         f"and dtype {Y.dtype}")
    if n is not None and len(Y) != n:
        raise ValueError(f"targets: expected {n} targets (one per row), got {len(Y)}")
    if vocab_size is not None and Y.size and (Y.min() < 0 or Y.max() >= vocab_size):
        raise ValueError(f"targets: expected ids in [0, {vocab_size}), got {Y.min()} to {Y.max()}")
    return Y


def check_scores(scores, targets):
    """Float scores ``(N, V)`` and their targets ``(N,)`` (see :func:`check_targets`), else ``ValueError``."""
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.dtype.kind != "f":
        raise ValueError(f"expected float scores of shape (N, V), got shape {scores.shape} "
                         f"and dtype {scores.dtype}")
    targets = check_targets(targets, len(scores), scores.shape[1])
    return scores, targets


def target_rank(scores, targets) -> np.ndarray:
    """0-based rank of each target among the ``V`` scores of its row, ``(N,)`` int.

    The rank is the target's position in a stable sort by decreasing score: the number of ids
    with a higher score, plus those with an equal score and a lower id (the same tie rule as
    ``predict_next``). Logits and probabilities give the same ranks.
    """
    scores, targets = check_scores(scores, targets)
    s_t = scores[np.arange(len(targets)), targets][:, None]                 # (N, 1): the target's score
    ids = np.arange(scores.shape[1])[None, :]
    return ((scores > s_t) | ((scores == s_t) & (ids < targets[:, None]))).sum(axis=1)


def top_k_accuracy(scores, targets, k: int = 1) -> float:
    """Share of rows whose target is among the ``k`` highest scores (logits or probabilities)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k: expected an integer >= 1, got {k!r}")
    return float(np.mean(target_rank(scores, targets) < k))


def accuracy(logits, targets) -> float:
    """Top-1 accuracy; a ``metrics`` function for ``course_utils.training``."""
    return top_k_accuracy(logits, targets, 1)


def top5_accuracy(logits, targets) -> float:
    """Top-5 accuracy; a ``metrics`` function for ``course_utils.training``."""
    return top_k_accuracy(logits, targets, 5)


def cross_entropy(probs, targets) -> float:
    """Mean ``-ln p[target]`` in nats, from probabilities ``(N, V)``."""
    probs, targets = check_scores(probs, targets)
    p = probs[np.arange(len(targets)), targets]
    if np.any(p <= 0):
        raise ValueError(f"cross_entropy: {int(np.sum(p <= 0))} target(s) have probability 0; "
                         "the perplexity would be infinite (smooth the model)")
    return float(-np.mean(np.log(p)))


def perplexity(probs, targets) -> float:
    """``exp(mean cross-entropy)``: the model is as unsure as a uniform choice among this many words."""
    return float(np.exp(cross_entropy(probs, targets)))


def binary_metrics(y_true, prob, threshold: float = 0.5) -> dict:
    """Accuracy, precision, recall (sensitivity), specificity, F1, ROC-AUC and the confusion counts.

    An image counts as pneumonia when ``prob >= threshold``. ``auc`` (scikit-learn's
    ``roc_auc_score``) uses the scores, not the threshold. A ratio with nothing to count
    (precision with no positive prediction, say) is 0.0, as scikit-learn's ``zero_division=0``.
    """
    from sklearn.metrics import roc_auc_score

    y_true, prob = np.asarray(y_true).ravel(), np.asarray(prob, dtype=np.float64).ravel()
    if y_true.shape != prob.shape:
        raise ValueError(f"y_true and prob must have the same length, got {y_true.shape} and {prob.shape}")
    if not np.isin(y_true, [0, 1]).all():
        raise ValueError("y_true must hold 0 and 1 only")
    pred = prob >= threshold
    tp = int(np.sum(pred & (y_true == 1)))
    fp = int(np.sum(pred & (y_true == 0)))
    tn = int(np.sum(~pred & (y_true == 0)))
    fn = int(np.sum(~pred & (y_true == 1)))
    ratio = lambda a, b: a / b if b else 0.0
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {
        "accuracy": ratio(tp + tn, len(y_true)),
        "precision": precision,
        "recall": recall,
        "specificity": ratio(tn, tn + fp),
        "f1": ratio(2 * precision * recall, precision + recall),
        "auc": float(roc_auc_score(y_true, prob)) if 0 < y_true.sum() < len(y_true) else float("nan"),
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
    }


def youden_threshold(y_true, prob) -> tuple[float, float]:
    """The threshold that maximises Youden's J = sensitivity + specificity - 1 on (validation) data.

    Returns ``(threshold, J)``; predict pneumonia when ``prob >= threshold``. Among equal J the
    highest threshold wins (scikit-learn's ``roc_curve`` lists thresholds from high to low).
    """
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(np.asarray(y_true).ravel(), np.asarray(prob).ravel())
    j = (tpr - fpr)[1:]                                   # thresholds[0] is +inf (nothing positive)
    best = int(np.flatnonzero(j >= j.max() - 1e-12)[0]) + 1  # ties up to rounding: 1 - 1/3 > 2/3 in floats
    return float(thresholds[best]), float(j[best - 1])


def compare_paired(y_true, pred_a, pred_b) -> dict:
    """Are two models' test accuracies really different? McNemar's exact test on the same sentences.

    Only the sentences where exactly one model is right carry information: ``a_only`` (A right, B wrong)
    and ``b_only``. If the models were equally good, each such sentence would go either way with
    probability 1/2; ``p_value`` is the two-sided binomial probability of a split at least this uneven.
    A large p-value means: this test split cannot tell the two apart.
    """
    from scipy.stats import binomtest

    y_true, pred_a, pred_b = (np.asarray(list(a), dtype=object) for a in (y_true, pred_a, pred_b))
    if not len(y_true) == len(pred_a) == len(pred_b):
        raise ValueError(f"y_true, pred_a and pred_b must have the same length, got "
                         f"{len(y_true)}, {len(pred_a)}, {len(pred_b)}")
    right_a, right_b = pred_a == y_true, pred_b == y_true
    a_only, b_only = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    p = binomtest(a_only, a_only + b_only, 0.5).pvalue if a_only + b_only else 1.0
    return {"a_only": a_only, "b_only": b_only, "both_right": int(np.sum(right_a & right_b)),
            "both_wrong": int(np.sum(~right_a & ~right_b)), "p_value": float(p)}


def paired_gain(model_losses, baseline_losses) -> tuple[float, float]:
    """How much lower a model's loss is than a baseline's on the same test examples, and how sure that is.

    ``model_losses`` and ``baseline_losses`` are ``(n,)`` per-example losses on the same examples: squared
    errors, ``-ln p[target]``, or ``1 - correct`` for accuracy. Returns ``(gain, standard_error)``: the
    mean of ``baseline - model`` and the standard error of that mean. Pairing removes what the examples
    share (a hard example is hard for both), so the standard error is that of the difference, not of
    either score. The lessons claim "the model beats the baseline" only when ``gain > standard_error``.
    """
    model_losses = np.asarray(model_losses, dtype=np.float64)
    baseline_losses = np.asarray(baseline_losses, dtype=np.float64)
    if model_losses.ndim != 1 or model_losses.shape != baseline_losses.shape or len(model_losses) < 2:
        raise ValueError(f"paired_gain: expected two (n,) arrays of per-example losses with n >= 2, got "
                         f"shapes {model_losses.shape} and {baseline_losses.shape}")
    if not (np.isfinite(model_losses).all() and np.isfinite(baseline_losses).all()):
        raise ValueError("paired_gain: the losses must be finite (an infinite loss has no mean)")
    diff = baseline_losses - model_losses
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))
