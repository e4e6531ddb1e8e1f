"""News-sentence classification (lesson 09): every model scored the same way,
in one table ranked by validation.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from course_utils.lessons.text_classification.classical import scores
from course_utils.lessons.text_classification.data import CLASSES, Splits, encode_labels


def timed_predict(model, texts):
    """``model.predict(texts)`` and how long it took, in seconds (raw text to labels, features included)."""
    texts = list(texts)
    start = time.perf_counter()
    pred = np.asarray(model.predict(texts), dtype=object)
    return pred, time.perf_counter() - start


RESULT_COLUMNS = ["model", "family", "val accuracy", "val macro-F1", "test accuracy", "test macro-F1",
                  "train s", "predict s"]


def score_model(name: str, family: str, model, splits: Splits, train_seconds: float) -> dict:
    """One row of the results table: scores on validation and on test, and the times.

    ``predict s`` is the time to label the whole test split from raw text (features or ids included).
    """
    val_pred, _ = timed_predict(model, splits.val["text"])
    test_pred, predict_seconds = timed_predict(model, splits.test["text"])
    val, test = scores(splits.val["label"], val_pred), scores(splits.test["label"], test_pred)
    return {"model": name, "family": family, "val accuracy": val["accuracy"], "val macro-F1": val["macro_f1"],
            "test accuracy": test["accuracy"], "test macro-F1": test["macro_f1"],
            "train s": float(train_seconds), "predict s": float(predict_seconds), "test_pred": test_pred}


def comparison_table(rows) -> pd.DataFrame:
    """The lesson's one results table, best first, with the columns of :data:`RESULT_COLUMNS`.

    Sorted the way a model is chosen without looking at the test split: by validation accuracy, then
    validation macro-F1, then the shorter training time. The test columns are read, not used to sort.
    Extra keys of the rows (such as ``test_pred``) are dropped; the index runs 1, 2, 3, ... (the rank).
    """
    table = pd.DataFrame(list(rows))
    missing = [c for c in RESULT_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"results rows lack {missing}; expected the keys {RESULT_COLUMNS}")
    table = table[RESULT_COLUMNS].sort_values(["val accuracy", "val macro-F1", "train s"],
                                              ascending=[False, False, True], kind="stable")
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    return table


def per_class_f1(y_true, predictions: dict, classes: Sequence[str] = CLASSES) -> pd.DataFrame:
    """F1 of every class (columns) for every model (rows) from ``{model name: predicted labels}``."""
    from sklearn.metrics import f1_score

    return pd.DataFrame({name: f1_score(y_true, pred, labels=list(classes), average=None)
                         for name, pred in predictions.items()}, index=list(classes)).T


def error_analysis(texts, y_true, y_pred, proba=None, classes: Sequence[str] = CLASSES) -> pd.DataFrame:
    """The misclassified sentences: ``text, true, predicted`` (and ``confidence`` given ``proba``).

    ``texts``, ``y_true`` and ``y_pred`` are aligned position by position; a pandas Series keeps its index
    in the result (so a row points back to the data file), anything else is numbered 0..N-1. Aligning by
    position, not by index, is the point: a shuffled or re-indexed Series must not be matched by label.
    ``proba`` (N, n_classes) in the order of ``classes`` adds the probability given to the predicted class.
    Most confident mistakes first when ``proba`` is given.
    """
    index = texts.index if isinstance(texts, pd.Series) else pd.RangeIndex(len(texts))
    texts, y_true, y_pred = (np.asarray(list(a), dtype=object) for a in (texts, y_true, y_pred))
    if not len(texts) == len(y_true) == len(y_pred):
        raise ValueError(f"texts, y_true and y_pred must have the same length, got "
                         f"{len(texts)}, {len(y_true)}, {len(y_pred)}")
    table = pd.DataFrame({"text": texts, "true": y_true, "predicted": y_pred}, index=index)
    if proba is not None:
        proba = np.asarray(proba)
        if proba.shape != (len(texts), len(classes)):
            raise ValueError(f"proba: expected shape ({len(texts)}, {len(classes)}), got {proba.shape}")
        table["confidence"] = proba[np.arange(len(texts)), encode_labels(y_pred, classes)]
    wrong = table[table["true"] != table["predicted"]]
    if proba is not None:
        wrong = wrong.sort_values("confidence", ascending=False, kind="stable")
    return wrong
