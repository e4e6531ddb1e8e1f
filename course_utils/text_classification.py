"""News-sentence classification (lesson 09): data, split, classical models, Keras LSTMs, evaluation.

Four classes, Education / Finance / Politics / Sports, one short sentence each. The lesson holds an
LSTM against bag-of-words and TF-IDF features with classical models, on the same splits::

    df = load_news()                                   # checked: columns, labels, texts, groups
    splits = split_by_group(df, seed=0)                # train / val / test, no idea group in two splits
    found = select_on_validation("tfidf", "logistic regression", splits, seed=0)
    found.model.predict(["Shares fell sharply."])      # a scikit-learn Pipeline: raw text in, labels out

    vocab = word_vocab(splits.train.text)              # <PAD>=0, <UNK>=1, the training words, at most 5,000
    lstm = TextSequenceClassifier(build_lstm(len(vocab)), WordEncoder(vocab, max_len=32))
    history = lstm.fit(splits, epochs=30, patience=5)  # early stopping on validation, best weights restored
    lstm.predict(["Shares fell sharply."])

Conventions, used everywhere below:

- Labels are the class names (strings) in data frames and scikit-learn; the Keras models see integer
  ids ``0..3`` in the order of :data:`CLASSES` (:func:`encode_labels`).
- Every model is used the same way: ``model.predict(texts)`` takes raw sentences and returns class
  names, ``(N,)``. So prediction times include turning text into features, for every model alike.
- The validation split chooses everything (hyper-parameters, the epoch, the best model); the test
  split is scored once, at the end.

scikit-learn and Keras are imported inside the functions that need them, so that the data part of this
module imports quickly and without either.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .paths import data_dir
from .text import build_vocab, pad_sequences, texts_to_sequences, tokenize

CLASSES = ("Education", "Finance", "Politics", "Sports")
COLUMNS = ("text", "label", "group")
NEWS_FILE = ("text_classification", "news_sentences.csv")  # under data/


# ----------------------------------------------------------------------------------------------- data

def validate_news(df: pd.DataFrame, classes: Sequence[str] = CLASSES) -> pd.DataFrame:
    """Check a table of sentences and return a clean copy with the columns ``text, label, group``.

    Raises ``ValueError`` naming the problem for: a missing column; a label outside ``classes``; a text
    that is missing, not a string, or empty after stripping spaces; a missing or non-integer group id;
    a group whose sentences carry two labels (one idea cannot belong to two classes).
    The index is reset to ``0..N-1``: an error-analysis row can point back to a row of the file.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(  # noqa: TRY004 (the course raises ValueError for all bad input)
            f"expected a pandas DataFrame with columns {list(COLUMNS)}, got {type(df).__name__}")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"missing column(s) {missing}: expected {list(COLUMNS)}, got {list(df.columns)}")
    if len(df) == 0:
        raise ValueError("the table has no rows")
    out = df.loc[:, list(COLUMNS)].reset_index(drop=True).copy()

    not_text = out.index[~out["text"].map(lambda t: isinstance(t, str))]
    if len(not_text):
        raise ValueError(f"text must be strings; rows {list(not_text[:5])} are not "
                         f"(e.g. {out.loc[not_text[0], 'text']!r})")
    empty = out.index[out["text"].str.strip() == ""]
    if len(empty):
        raise ValueError(f"empty text in row(s) {list(empty[:5])}: every sentence needs some words")

    unknown = sorted(set(out["label"].astype(str)) - set(classes))
    if out["label"].isna().any() or unknown:
        raise ValueError(f"unknown label(s) {unknown or ['<missing>']}: expected one of {list(classes)}")

    groups = pd.to_numeric(out["group"], errors="coerce")
    if groups.isna().any() or (groups != groups.round()).any():
        bad = out.index[groups.isna() | (groups != groups.round())]
        raise ValueError(f"group ids must be integers; rows {list(bad[:5])} are not "
                         f"(e.g. {out.loc[bad[0], 'group']!r})")
    out["group"] = groups.astype(np.int64)
    labels_per_group = out.groupby("group")["label"].nunique()
    mixed = list(labels_per_group.index[labels_per_group > 1])
    if mixed:
        raise ValueError(f"group(s) {mixed[:5]} hold sentences of more than one label")
    out["text"] = out["text"].str.strip()
    return out


def load_news(path=None) -> pd.DataFrame:
    """Read ``data/text_classification/news_sentences.csv`` (or ``path``) and check it (:func:`validate_news`).

    ``keep_default_na=False``: a sentence such as "None" stays text, an empty field becomes "" and is caught.
    """
    path = data_dir().joinpath(*NEWS_FILE) if path is None else path
    return validate_news(pd.read_csv(path, encoding="utf-8", keep_default_na=False))


def encode_labels(labels, classes: Sequence[str] = CLASSES) -> np.ndarray:
    """Class names -> integer ids in the order of ``classes``: (N,) int64. Unknown names raise ``ValueError``."""
    index = {c: i for i, c in enumerate(classes)}
    labels = list(labels)
    unknown = sorted({lab for lab in labels if lab not in index}, key=str)
    if unknown:
        raise ValueError(f"unknown label(s) {unknown}: expected one of {list(classes)}")
    return np.array([index[lab] for lab in labels], dtype=np.int64)


# ---------------------------------------------------------------------------------------------- split

@dataclass
class Splits:
    """Three data frames with the columns of :func:`validate_news`; their index is the row of the full table."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame

    def items(self):
        return [("train", self.train), ("val", self.val), ("test", self.test)]

    def counts(self, classes: Sequence[str] = CLASSES) -> pd.DataFrame:
        """Sentences per class (rows) and split (columns), with totals and the number of idea groups."""
        table = pd.DataFrame({name: part["label"].value_counts().reindex(classes, fill_value=0)
                              for name, part in self.items()})
        table["all"] = table.sum(axis=1)
        table.loc["total"] = table.sum()
        table.loc["idea groups"] = [part["group"].nunique() for _, part in self.items()] + [
            sum(part["group"].nunique() for _, part in self.items())]
        return table


def split_by_group(df: pd.DataFrame, n_folds: int = 5, seed: int = 0) -> Splits:
    """Split into train / validation / test so that no idea group is in two splits, classes balanced.

    scikit-learn's ``StratifiedGroupKFold`` cuts the groups into ``n_folds`` folds with about the same
    class mix each. One fold (1/5 with the default) becomes the test split; the same is done again on
    the rest for validation. With the course's 951 sentences and seed 0: 608 train, 152 validation, 191 test.

    Why groups: some ideas are written two or three times in different words. If one wording were in
    train and another in test, the test would partly measure memory, not generalisation.
    The same ``df`` and ``seed`` always give the same split. ``df`` is checked by :func:`validate_news`
    first, which numbers its rows ``0..N-1``; the three frames keep those numbers as their index.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    if not isinstance(n_folds, (int, np.integer)) or n_folds < 3:
        raise ValueError(f"n_folds: expected an integer >= 3, got {n_folds!r}")
    df = validate_news(df)

    def one_fold(part: pd.DataFrame, random_state: int):
        folder = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
        rest, held_out = next(folder.split(part["text"], part["label"], groups=part["group"]))
        return part.iloc[rest], part.iloc[held_out]

    train_val, test = one_fold(df, seed)
    train, val = one_fold(train_val, seed + 1)
    splits = Splits(train, val, test)
    # The whole point of the split: prove it rather than trust it (an explicit check, not an assert,
    # so that it also runs under python -O).
    seen = [set(part["group"]) for _, part in splits.items()]
    shared = (seen[0] & seen[1]) | (seen[0] & seen[2]) | (seen[1] & seen[2])
    if shared or sum(len(part) for _, part in splits.items()) != len(df):
        raise RuntimeError(f"split_by_group: groups {sorted(shared)[:5]} are in two splits, or rows were lost")
    return splits


# ------------------------------------------------------------------------------------ classical models

def make_vectorizer(kind: str, ngram_range=(1, 1)):
    """``"bow"``: word counts (``CountVectorizer``); ``"tfidf"``: TF-IDF weights (``TfidfVectorizer``).

    Both use the course's :func:`~course_utils.text.tokenize`, so they see exactly the words the LSTM sees.
    A vectorizer learns its vocabulary (and TF-IDF its document frequencies) in ``fit``: inside a
    ``Pipeline`` that is fitted on the training split only, words seen only in validation or test are
    simply not features.
    """
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    common = {"tokenizer": tokenize, "token_pattern": None, "lowercase": False, "ngram_range": tuple(ngram_range)}
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


# -------------------------------------------------------------------------------------- Keras models

def word_vocab(train_texts, max_words: int = 5000, min_freq: int = 1) -> dict[str, int]:
    """The LSTM's word ids: ``<PAD>`` = 0, ``<UNK>`` = 1, then the training words, most frequent first.

    At most ``max_words`` ids in all (the ``Embedding`` has that many rows). Built from the training
    split only, by :func:`~course_utils.text.build_vocab`; its ids are sorted by frequency, so cutting at
    ``max_words`` keeps the most frequent words and the ids stay ``0..V-1``.
    """
    vocab = build_vocab(list(train_texts), min_freq=min_freq)
    return {w: i for w, i in vocab.items() if i < max_words}


@dataclass
class WordEncoder:
    """Sentences -> word ids with the LSTM's own vocabulary (:func:`word_vocab`): (N, max_len) int64."""

    vocab: dict
    max_len: int

    def encode(self, texts) -> np.ndarray:
        return pad_sequences(texts_to_sequences(list(texts), self.vocab), self.max_len)


@dataclass
class PieceEncoder:
    """Sentences -> WordPiece ids of a pre-trained table (:func:`course_utils.embeddings.load_minilm_wordpiece`)."""

    embeddings: object
    max_len: int

    def encode(self, texts) -> np.ndarray:
        return self.embeddings.encode(list(texts), self.max_len)


def build_lstm(vocab_size: int = 5000, embed_dim: int = 100, units: int = 64, n_classes: int = len(CLASSES),
               embedding=None, name: str = "lstm"):
    """``Embedding -> LSTM(units) -> Dense(n_classes, softmax)``, a Keras model on ids (N, T) -> (N, n_classes).

    - default: a trainable ``Embedding(vocab_size, embed_dim)``, learnt from the training sentences alone;
    - ``embedding=`` a ready layer instead, e.g. the frozen MiniLM table
      (:func:`course_utils.embeddings.keras_embedding`).

    ``mask_zero=True``: padding (id 0) is masked, so the LSTM skips it. The LSTM returns its last hidden
    state (N, units): a summary of the whole sentence that the Dense layer turns into 4 probabilities.
    Call ``seed_keras`` first for reproducible initial weights.
    """
    from .keras_setup import import_keras

    keras = import_keras()
    if embedding is None:
        embedding = keras.layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="embedding")
    model = keras.Sequential([
        keras.Input(shape=(None,), dtype="int64"),              # (N, T) word ids
        embedding,                                              # (N, T, E), with a mask for padding
        keras.layers.LSTM(units, name="lstm"),                  # (N, units): the last hidden state
        keras.layers.Dense(n_classes, activation="softmax", name="classes"),   # (N, n_classes)
    ], name=name)
    return model


@dataclass
class TextSequenceClassifier:
    """A Keras model with its encoder: raw sentences in, class names out (like a scikit-learn pipeline)."""

    model: object                       # ids (N, T) -> probabilities (N, n_classes)
    encoder: object                     # .encode(texts) -> ids (N, T)
    classes: tuple = CLASSES
    train_seconds: float = field(default=float("nan"))

    def predict_proba(self, texts) -> np.ndarray:
        """(N, n_classes) float32, rows sum to 1."""
        return self.model.predict(self.encoder.encode(texts), batch_size=256, verbose=0)

    def predict(self, texts) -> np.ndarray:
        """(N,) class names."""
        return np.asarray(self.classes, dtype=object)[self.predict_proba(texts).argmax(axis=1)]

    def cross_entropy(self, texts, labels) -> float:
        """The mean cross-entropy on ``texts`` with the true ``labels`` (class names).

        The sanity anchor before training: an untrained model gives every class about 1/4, so about
        ln 4 = 1.386. Far more would point to a bug (wrong labels, a softmax applied twice).
        """
        y = encode_labels(labels, self.classes)
        p = self.predict_proba(texts)[np.arange(len(y)), y]
        return float(-np.mean(np.log(np.maximum(p, 1e-12))))

    def fit(self, splits: Splits, *, epochs: int = 30, batch_size: int = 32, patience: int = 5,
            learning_rate: float = 1e-3, seed: int = 0, desc: str = "LSTM") -> pd.DataFrame:
        """Train on ``splits.train`` with Adam; early stopping on ``splits.val`` (the test split is not used).

        EarlyStopping watches the validation loss and, after ``patience`` epochs without improvement,
        stops and puts back the weights of the best epoch (``restore_best_weights=True``). Returns the
        history of :func:`course_utils.keras_setup.fit_with_early_stopping` (epoch, train_loss,
        train_accuracy, val_loss, val_accuracy, seconds, best); the wall time of
        training is kept in ``train_seconds``.
        """
        from .keras_setup import fit_with_early_stopping, import_keras, seed_keras

        keras = import_keras()
        seed_keras(seed)                                        # batch order of every epoch
        X_train, X_val = self.encoder.encode(splits.train["text"]), self.encoder.encode(splits.val["text"])
        y_train = encode_labels(splits.train["label"], self.classes)
        y_val = encode_labels(splits.val["label"], self.classes)
        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                           loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        history = fit_with_early_stopping(self.model, (X_train, y_train), (X_val, y_val), epochs=epochs,
                                          batch_size=batch_size, patience=patience, desc=desc)
        self.train_seconds = time.perf_counter() - start
        return history


# ------------------------------------------------------------------------------------------ evaluation

def timed_predict(model, texts):
    """``model.predict(texts)`` and how long it took, in seconds (raw text to labels, features included)."""
    texts = list(texts)
    start = time.perf_counter()
    pred = np.asarray(model.predict(texts), dtype=object)
    return pred, time.perf_counter() - start


RESULT_COLUMNS = ["model", "family", "val accuracy", "val macro-F1", "test accuracy", "test macro-F1",
                  "train s", "predict s"]


def evaluate(name: str, family: str, model, splits: Splits, train_seconds: float) -> dict:
    """One row of the results table: scores on validation and on test, and the times.

    ``predict s`` is the time to label the whole test split from raw text (features or ids included).
    """
    val_pred, _ = timed_predict(model, splits.val["text"])
    test_pred, predict_seconds = timed_predict(model, splits.test["text"])
    val, test = scores(splits.val["label"], val_pred), scores(splits.test["label"], test_pred)
    return {"model": name, "family": family, "val accuracy": val["accuracy"], "val macro-F1": val["macro_f1"],
            "test accuracy": test["accuracy"], "test macro-F1": test["macro_f1"],
            "train s": float(train_seconds), "predict s": float(predict_seconds), "test_pred": test_pred}


def results_table(rows) -> pd.DataFrame:
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


def per_class_f1(y_true, predictions: dict, classes: Sequence[str] = CLASSES) -> pd.DataFrame:
    """F1 of every class (columns) for every model (rows) from ``{model name: predicted labels}``."""
    from sklearn.metrics import f1_score

    return pd.DataFrame({name: f1_score(y_true, pred, labels=list(classes), average=None)
                         for name, pred in predictions.items()}, index=list(classes)).T


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
