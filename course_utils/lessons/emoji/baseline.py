"""Emoji prediction (lesson 08): the baseline the LSTM has to beat:
the mean of a sentence's word vectors -> softmax regression.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_utils.embeddings import (
    PretrainedEmbeddings,
)
from course_utils.hardware import limit_blas_threads
from course_utils.lessons.emoji.data import N_CLASSES
from course_utils.losses import softmax, softmax_cross_entropy
from course_utils.optim import Adam


def mean_embeddings(emb: PretrainedEmbeddings, X: np.ndarray) -> np.ndarray:
    """The mean of each sentence's token vectors, padding left out: (N, T) ids -> (N, D) floats."""
    X = np.asarray(X)
    real = (X != emb.pad_id)[..., None]                                    # (N, T, 1): 1 for a real token
    total = (emb.matrix[X] * real).sum(axis=1)                             # (N, D)
    return total / np.maximum(real.sum(axis=1), 1)                         # an empty row stays zeros


class SoftmaxRegression:
    """Multinomial logistic regression in NumPy: ``softmax(standardise(F) @ W + b)``.

    Fitted by full-batch Adam on the mean cross-entropy plus ``l2 * ||W||^2 / 2``. The features are
    standardised with the training set's mean and standard deviation (kept for prediction).
    """

    def __init__(self, l2: float = 1e-3, steps: int = 500, lr: float = 0.05):
        self.l2, self.steps, self.lr = l2, steps, lr

    def fit(self, F: np.ndarray, y: np.ndarray) -> SoftmaxRegression:
        F = np.asarray(F, dtype=np.float64)
        self.mean, self.std = F.mean(axis=0), F.std(axis=0) + 1e-8
        Z = (F - self.mean) / self.std                                      # (N, D)
        Zt = np.ascontiguousarray(Z.T)                                      # (D, N), for the gradient
        self.params = {"W": np.zeros((Z.shape[1], N_CLASSES)), "b": np.zeros(N_CLASSES)}
        opt = Adam(self.params, lr=self.lr)
        # Products with only 5 columns are too small to share between CPU threads: one BLAS thread is
        # as fast on an idle machine and many times faster on a busy one.
        with limit_blas_threads(1):
            for _ in range(self.steps):
                # mean loss, gradient
                _, dlogits = softmax_cross_entropy(Z @ self.params["W"] + self.params["b"], y)
                opt.step({"W": Zt @ dlogits + self.l2 * self.params["W"], "b": dlogits.sum(axis=0)})
        return self

    def predict_proba(self, F: np.ndarray) -> np.ndarray:
        """(N, D) features -> (N, 5) probabilities."""
        Z = (np.asarray(F, dtype=np.float64) - self.mean) / self.std
        return softmax(Z @ self.params["W"] + self.params["b"])


def fit_baseline(F_train, y_train, F_val, y_val, l2_grid=(1e-4, 1e-3, 1e-2, 1e-1, 1.0), steps: int = 500):
    """Fit :class:`SoftmaxRegression` (``steps`` of Adam) for each L2 strength;
    keep the best on *validation* accuracy.

    Ties go to the lower validation loss. Returns ``(best_model, table)``, the table having one row
    per strength (``l2``, ``train_accuracy``, ``val_accuracy``, ``val_loss``).
    """
    return choose_on_validation(lambda l2: SoftmaxRegression(l2=l2, steps=steps).fit(F_train, y_train),
                                l2_grid, "l2", F_train, y_train, F_val, y_val)


def choose_on_validation(fit, settings, name: str, F_train, y_train, F_val, y_val):
    """``fit(setting)`` for each of ``settings``; keep the model with the best *validation* accuracy, ties
    to the lower validation loss.

    ``fit`` returns a model with ``predict_proba(F) -> (N, 5)``; ``F_*`` are its (N, D) features. Returns
    ``(best_model, table)``: one row per setting (``name``, ``train_accuracy``, ``val_accuracy``,
    ``val_loss``, ``chosen``).
    """
    y_train, y_val = np.asarray(y_train), np.asarray(y_val)
    rows, models = [], []
    for setting in settings:
        model = fit(setting)
        p_val = model.predict_proba(F_val)
        rows.append({name: setting,
                     "train_accuracy": float(np.mean(model.predict_proba(F_train).argmax(1) == y_train)),
                     "val_accuracy": float(np.mean(p_val.argmax(1) == y_val)),
                     "val_loss": float(-np.mean(np.log(p_val[np.arange(len(y_val)), y_val] + 1e-12)))})
        models.append(model)
    table = pd.DataFrame(rows)
    best = table.sort_values(["val_accuracy", "val_loss"], ascending=[False, True], kind="stable").index[0]
    table["chosen"] = table.index == best
    return models[best], table
