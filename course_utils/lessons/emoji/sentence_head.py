"""Emoji prediction (lesson 08): the second opinion beside the LSTM, a logistic regression on sentence
vectors from the pre-trained encoder (:mod:`course_utils.sentence_encoder`).

    encoder = load_sentence_encoder()
    E = {s: encoder.encode(list(df["text"])) for s, df in splits.items()}        # (N, 384) per split
    head, table = fit_sentence_head(E["train"], y_train, E["val"], y_val)         # C chosen on validation
    head.predict_proba(E["test"])                                                 # (N, 5)

The LSTM learns its reading of a sentence from the course's 3,000 training sentences only; the encoder
was trained on a billion sentence pairs written by other people. The regression on its vectors is the
part of the service that has seen everyday phrasing, and the classifier averages the two opinions
(:class:`course_utils.lessons.emoji.classifier.EmojiClassifier`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from course_utils.hardware import torch_threads
from course_utils.lessons.emoji.baseline import choose_on_validation
from course_utils.lessons.emoji.data import N_CLASSES
from course_utils.lessons.emoji.model import THREADS
from course_utils.losses import softmax
from course_utils.sentence_encoder import MODEL_NAME, load_sentence_encoder

# The regularisation strengths tried (scikit-learn's C: larger is weaker), chosen on validation.
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
DIM = 384  # the encoder's sentence vectors
# The largest weight a head may have. Fitted heads stay far below it (their weights are a few units); a
# larger one can only come from a damaged or hand-made file, and 1e308 would turn every logit into inf
# and every probability into NaN.
MAX_WEIGHT = 1e6


class SentenceHead:
    """Multinomial logistic regression on sentence vectors: ``softmax(E @ coef.T + intercept)``.

    ``coef`` (5, 384) and ``intercept`` (5,): the weights fitted by scikit-learn; ``C``: the strength it
    was fitted with. Prediction needs only NumPy. :meth:`to_dict` and :meth:`from_dict` carry the head in
    the saved model's sidecar.
    """

    def __init__(self, coef, intercept, C: float, encoder: str = MODEL_NAME):
        coef = np.ascontiguousarray(coef, dtype=np.float64)   # one memory layout: the same sums, saved or not
        intercept = np.asarray(intercept, dtype=np.float64)
        if coef.shape != (N_CLASSES, DIM) or intercept.shape != (N_CLASSES,):
            raise ValueError(f"expected coef ({N_CLASSES}, {DIM}) and intercept ({N_CLASSES},), "
                             f"got {coef.shape} and {intercept.shape}")
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
            raise ValueError("expected finite weights, found NaN or infinity")
        if max(np.abs(coef).max(), np.abs(intercept).max()) > MAX_WEIGHT:
            raise ValueError(f"expected weights of at most {MAX_WEIGHT:g} in absolute value")
        if isinstance(C, bool) or not isinstance(C, (int, float)) or not math.isfinite(C) or C <= 0:
            raise ValueError(f"C: expected a positive number, got {str(C)[:40]!r}")
        if encoder != MODEL_NAME:
            raise ValueError(f"encoder: expected {MODEL_NAME!r}, got {str(encoder)[:40]!r}")
        self.coef, self.intercept, self.C, self.encoder = coef, intercept, float(C), encoder

    def predict_proba(self, E: np.ndarray) -> np.ndarray:
        """(N, 384) sentence vectors -> (N, 5) probabilities."""
        E = np.asarray(E, dtype=np.float64)
        if E.ndim != 2 or E.shape[1] != DIM:
            raise ValueError(f"E: expected sentence vectors (N, {DIM}), got shape {E.shape}")
        return softmax(E @ self.coef.T + self.intercept)

    def to_dict(self) -> dict:
        """Plain JSON types (Python floats keep every bit through JSON)."""
        return {"encoder": self.encoder, "C": self.C, "coef": self.coef.tolist(),
                "intercept": self.intercept.tolist()}

    @classmethod
    def from_dict(cls, d) -> SentenceHead:
        """The head :meth:`to_dict` wrote; anything else raises ``ValueError`` saying what was expected."""
        if not isinstance(d, dict) or set(d) != {"encoder", "C", "coef", "intercept"}:
            raise ValueError("expected an object with the keys encoder, C, coef, intercept")
        for key in ("coef", "intercept"):
            if not _numbers(d[key]):
                raise ValueError(f"{key}: expected numbers (a list of lists for coef)")
        try:
            return cls(d["coef"], d["intercept"], d["C"], d["encoder"])
        except (TypeError, ValueError, OverflowError) as err:   # ragged lists, sizes, NaN, huge integers
            raise ValueError(str(err)[:200]) from None


def sentence_vectors(texts) -> np.ndarray:
    """Texts -> (N, 384) sentence vectors of the encoder, computed on the lesson's fixed CPU threads
    (:data:`course_utils.lessons.emoji.model.THREADS`), like the LSTM's outputs."""
    with torch_threads(THREADS):
        return load_sentence_encoder().encode(list(texts))


def _numbers(value, depth: int = 0) -> bool:
    """Whether ``value`` is a number or (nested lists of) numbers, never a bool or a string."""
    if isinstance(value, list):
        return depth < 2 and all(_numbers(v, depth + 1) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fit_sentence_head(E_train, y_train, E_val, y_val, grid=C_GRID) -> tuple[SentenceHead, pd.DataFrame]:
    """Fit a logistic regression for each ``C`` in ``grid`` on the training vectors; keep the best on
    *validation* accuracy, ties to the lower validation loss.

    ``E_*``: (N, 384) sentence vectors; ``y_*``: (N,) labels. Returns ``(head, table)``: one row per ``C``
    with ``train_accuracy``, ``val_accuracy``, ``val_loss`` and ``chosen``.
    """
    from sklearn.linear_model import LogisticRegression

    def fit(C):
        fitted = LogisticRegression(C=C, max_iter=5000).fit(E_train, y_train)
        if list(fitted.classes_) != list(range(N_CLASSES)):
            raise ValueError(f"y_train: expected every label 0 to {N_CLASSES - 1}, found {fitted.classes_}")
        return SentenceHead(fitted.coef_, fitted.intercept_, C)

    return choose_on_validation(fit, grid, "C", E_train, y_train, E_val, y_val)
