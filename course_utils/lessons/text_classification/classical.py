"""News-sentence classification (lesson 09): bag-of-words and TF-IDF features with classical models,
chosen on validation.

    found = select_on_validation("tfidf", "logistic regression", splits, seed=0)
    found.model.predict(["Shares fell sharply."])      # a scikit-learn Pipeline: raw text in, labels out

scikit-learn is imported inside the functions that need it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from course_utils.lessons.text_classification.data import Splits
from course_utils.text import tokenize


def make_vectorizer(kind: str, ngram_range=(1, 1)):
    """``"bow"``: word counts (``CountVectorizer``); ``"tfidf"``: TF-IDF weights (``TfidfVectorizer``).

    Both use the course's :func:`~course_utils.text.tokenize`, so they see exactly the words the LSTM sees.
    A vectorizer learns its vocabulary (and TF-IDF its document frequencies) in ``fit``: inside a
    ``Pipeline`` that is fitted on the training split only, words seen only in validation or test are
    simply not features.
    """
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    common = {"tokenizer": tokenize, "token_pattern": None, "lowercase": False,
              "ngram_range": tuple(ngram_range)}
    if kind == "bow":
        return CountVectorizer(**common)
    if kind == "tfidf":
        # sublinear_tf: 1 + log(count), so a word said twice is not twice the evidence
        return TfidfVectorizer(sublinear_tf=True, **common)
    raise ValueError(f"kind: expected 'bow' or 'tfidf', got {kind!r}")


FEATURES = {"bow": "bag of words", "tfidf": "TF-IDF"}


def classical_models(seed: int = 0, small: bool = False) -> dict:
    """The four classifiers and their grids: ``name -> (make(**params) -> estimator, [setting, ...])``.

    A setting is a dict of the model's parameters, plus ``ngram_range`` for the vectorizer where given.
    The grids are small on purpose: with 152 validation sentences one sentence is 0.7 % accuracy, and the
    more settings we try, the more the winner's validation score flatters it. ``small=True`` keeps two
    settings of the linear models and one of the others (quick mode): the same models, fewer fits.

    - logistic regression and the linear SVM: the inverse regularisation strength ``C`` (larger: the
      weights may grow to fit the training sentences more closely), and single words or also word pairs;
    - random forest (300 trees): how many features each split may choose from;
    - gradient boosting: scikit-learn's ``GradientBoostingClassifier``, 100 trees of depth 3, with the
      learning rate as the knob. It takes the sparse word counts as they are, where
      ``HistGradientBoostingClassifier`` would need a dense copy (and bins counts that are mostly 0 or 1).
    """
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    def linear(cs):
        ngrams = [(1, 1)] if small else [(1, 1), (1, 2)]
        return [{"C": c, "ngram_range": ng} for ng in ngrams for c in (cs[1:] if small else cs)]

    models = {
        "logistic regression": (lambda C: LogisticRegression(C=C, max_iter=2000), linear((1.0, 10.0, 100.0))),
        "linear SVM": (lambda C: LinearSVC(C=C, max_iter=5000, random_state=seed), linear((0.1, 1.0, 10.0))),
        "random forest": (lambda max_features: RandomForestClassifier(
            n_estimators=300, max_features=max_features, n_jobs=1, random_state=seed),
            [{"max_features": m} for m in ("sqrt", "log2", 0.05)]),
        "gradient boosting": (lambda learning_rate: GradientBoostingClassifier(
            n_estimators=100, learning_rate=learning_rate, max_depth=3, random_state=seed),
            [{"learning_rate": lr} for lr in (0.1, 0.3)]),
    }
    if small:
        models["random forest"] = (models["random forest"][0], [{"max_features": "log2"}])
        models["gradient boosting"] = (models["gradient boosting"][0], [{"learning_rate": 0.3}])
    return models


def scores(y_true, y_pred) -> dict:
    """Accuracy and macro-F1 (the mean of the four per-class F1 scores: every class counts the same)."""
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": float(accuracy_score(y_true, y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, average="macro"))}


@dataclass
class Selected:
    """The outcome of :func:`select_on_validation`: the chosen pipeline and every setting tried."""

    name: str                 # e.g. "TF-IDF + logistic regression"
    model: object             # the fitted Pipeline of the best setting (fitted on train only)
    params: dict              # its setting
    train_seconds: float      # how long its fit took
    grid: pd.DataFrame        # one row per setting: params, val accuracy, val macro-F1, fit seconds


def select_on_validation(features: str, model_name: str, splits: Splits, seed: int = 0,
                         small: bool = False) -> Selected:
    """Fit ``vectorizer + model`` on train for every setting of the grid; keep the best on validation.

    "Best": the highest validation accuracy, then the highest validation macro-F1, then the first of the
    grid (the grids list simpler settings first). The test split is not touched here. Nothing is refitted
    on train + validation, so that every model of the lesson, the LSTMs included, learns from the same
    sentences. ``small``: the quick-mode grids of :func:`classical_models`.
    """
    from sklearn.pipeline import Pipeline

    models = classical_models(seed, small=small)
    if model_name not in models:
        raise ValueError(f"model_name: expected one of {list(models)}, got {model_name!r}")
    make, grid = models[model_name]
    rows, best = [], None
    for k, setting in enumerate(grid):
        params = {key: v for key, v in setting.items() if key != "ngram_range"}
        pipe = Pipeline([("features", make_vectorizer(features, setting.get("ngram_range", (1, 1)))),
                         ("model", make(**params))])
        start = time.perf_counter()
        pipe.fit(list(splits.train["text"]), splits.train["label"])
        seconds = time.perf_counter() - start
        val = scores(splits.val["label"], pipe.predict(list(splits.val["text"])))
        rows.append({**{key: str(v) for key, v in setting.items()}, "val accuracy": val["accuracy"],
                     "val macro-F1": val["macro_f1"], "fit s": seconds})
        key = (val["accuracy"], val["macro_f1"], -k)
        if best is None or key > best[0]:
            best = (key, pipe, setting, seconds)
    _, pipe, setting, seconds = best
    return Selected(f"{FEATURES[features]} + {model_name}", pipe, dict(setting), seconds, pd.DataFrame(rows))


class MajorityClass:
    """The baseline every model must beat: always the most frequent training label."""

    def fit(self, texts, labels):
        counts = pd.Series(list(labels)).value_counts()
        self.label_ = min(counts.index[counts == counts.max()])   # ties: alphabetical, reproducible
        return self

    def predict(self, texts) -> np.ndarray:
        return np.full(len(texts), self.label_, dtype=object)


def top_words(pipeline, k: int = 10) -> pd.DataFrame:
    """The ``k`` features with the largest weights for each class of a linear model in a Pipeline.

    Works for ``LogisticRegression`` and ``LinearSVC`` (one weight per feature and class, ``coef_`` of
    shape (n_classes, n_features)). A large positive weight: this word pushes a sentence towards the class.
    Returns columns ``class, rank, word, weight``.
    """
    vectorizer, model = pipeline.named_steps["features"], pipeline.named_steps["model"]
    coef = getattr(model, "coef_", None)
    if coef is None:
        raise ValueError(f"top_words needs a linear model with coef_, got {type(model).__name__}")
    words = vectorizer.get_feature_names_out()
    rows = []
    for c, name in enumerate(model.classes_):
        for rank, j in enumerate(np.argsort(-coef[c], kind="stable")[:k], start=1):
            rows.append({"class": name, "rank": rank, "word": words[j], "weight": float(coef[c, j])})
    return pd.DataFrame(rows)
