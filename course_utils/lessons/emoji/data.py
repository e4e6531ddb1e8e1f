"""Emoji prediction (lesson 08): the five classes, the sentences of each split,
and tables of what the model got wrong.

    splits = load_emoji_data()        # {"train", "val", "test"}: DataFrames (text, label)
    outside = load_outside_data()     # {"outside_val", "outside_test"}: written apart, in texting style
    class_counts(splits)              # sentences per class per split
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from course_utils.paths import data_dir

# The five classes. The label is the row of the model's output (and the ``label`` column of the CSVs).
NAMES = ("love", "sports", "happy", "sad", "food")


EMOJIS = ("❤️", "⚾", "😄", "😞", "🍴")


N_CLASSES = len(NAMES)


SPLITS = ("train", "val", "test")


# Two more splits, written apart from the others by writers who saw none of them, in casual texting style
# (data/emoji/README.md): outside_val checks on validation that the recipe carries over to other people's
# sentences, outside_test is scored once, at the end, like test.
OUTSIDE_SPLITS = ("outside_val", "outside_test")


# The test split has two parts (data/emoji/README.md): its first rows were written by the same writers
# as the training and validation sentences, the rest by a writer who saw none of the other files.
TEST_SAME_WRITERS = 124


TEST_PARTS = ("same writers", "independent")


def label_table() -> pd.DataFrame:
    """The five classes: ``label``, ``name``, ``emoji``."""
    return pd.DataFrame({"label": range(N_CLASSES), "name": NAMES, "emoji": EMOJIS})


def emoji_dir() -> Path:
    """``data/emoji``: ``train.csv``, ``val.csv``, ``test.csv``."""
    return data_dir() / "emoji"


def load_emoji_split(path: str | os.PathLike) -> pd.DataFrame:
    """Read one CSV with columns ``text,label`` and check it.

    Checks: exactly those two columns; every text a non-empty string; every label an integer 0..4.
    A failed check raises ``ValueError`` naming the file and the line, instead of surfacing later
    as a strange loss or a tokeniser error.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"emoji data file not found: {path}")
    # keep_default_na=False: a sentence such as "None" or "NA" stays text; an empty field stays "".
    df = pd.read_csv(path, encoding="utf-8", keep_default_na=False, dtype=str)
    if list(df.columns) != ["text", "label"]:
        raise ValueError(f"{path}: expected the columns ['text', 'label'], got {list(df.columns)}")
    if df.empty:
        raise ValueError(f"{path}: no rows")
    blank = df.index[df["text"].str.strip() == ""]
    if len(blank):
        # + 2: the header, and lines count from 1
        raise ValueError(f"{path}, line {blank[0] + 2}: empty text")
    labels = pd.to_numeric(df["label"].str.strip(), errors="coerce")
    bad = df.index[labels.isna() | (labels % 1 != 0) | ~labels.between(0, N_CLASSES - 1)]
    if len(bad):
        raise ValueError(f"{path}, line {bad[0] + 2}: label {df['label'][bad[0]]!r} "
                         f"is not one of 0..{N_CLASSES - 1}")
    return df.assign(label=labels.astype(np.int64))


def load_emoji_data(folder: str | os.PathLike | None = None) -> dict[str, pd.DataFrame]:
    """The three splits, checked: ``{"train": df, "val": df, "test": df}`` with columns ``text, label``.

    Also checks that no sentence is in two splits (lower case, spaces collapsed).
    """
    folder = emoji_dir() if folder is None else Path(folder)
    splits = {s: load_emoji_split(folder / f"{s}.csv") for s in SPLITS}
    check_no_shared_sentences(splits, folder)
    return splits


def check_no_shared_sentences(splits: dict[str, pd.DataFrame], folder) -> None:
    """Raise ``ValueError`` naming the first sentence (by :func:`sentence_key`) found in two splits."""
    seen: dict[str, str] = {}
    for split, df in splits.items():
        for text in df["text"]:
            key = sentence_key(text)
            if seen.setdefault(key, split) != split:
                raise ValueError(f"{folder}: the sentence {text!r} is in both {seen[key]} and {split}")


def sentence_key(text: str) -> str:
    """How two sentences are compared for sameness: lower case, runs of spaces collapsed."""
    return " ".join(text.lower().split())


def load_outside_data(folder: str | os.PathLike | None = None,
                      splits: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The two outside-style splits, checked: ``{"outside_val": df, "outside_test": df}`` (``text, label``).

    Also checks that none of their sentences is in another split, these two or the three of
    :func:`load_emoji_data` (``splits``, loaded from ``folder`` when not given).
    """
    folder = emoji_dir() if folder is None else Path(folder)
    splits = load_emoji_data(folder) if splits is None else splits
    outside = {s: load_emoji_split(folder / f"{s}.csv") for s in OUTSIDE_SPLITS}
    check_no_shared_sentences({**splits, **outside}, folder)
    return outside


def parts_of_test(test: pd.DataFrame) -> np.ndarray:
    """Which part of the test split each row of ``test`` (the whole split, in file order) belongs to.

    Returns an (N,) array of strings: ``"same writers"`` for the first :data:`TEST_SAME_WRITERS` rows
    (written by the writers of the training sentences), ``"independent"`` for the others.
    """
    if len(test) <= TEST_SAME_WRITERS or not test.index.equals(pd.RangeIndex(len(test))):
        raise ValueError(f"test: expected the whole test split in file order (index 0..N-1, more than "
                         f"{TEST_SAME_WRITERS} rows), got {len(test)} rows, "
                         f"index starting {test.index[:3].tolist()}")
    return np.where(np.arange(len(test)) < TEST_SAME_WRITERS, TEST_PARTS[0], TEST_PARTS[1])


def class_counts(splits: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Sentences per class (rows: emoji and name) and split (columns), with totals."""
    table = pd.DataFrame({s: df["label"].value_counts().reindex(range(N_CLASSES), fill_value=0)
                          for s, df in splits.items()})
    table.index = [f"{e} {n}" for e, n in zip(EMOJIS, NAMES)]
    table.loc["total"] = table.sum()
    table["total"] = table.sum(axis=1)
    return table


def one_hot(labels) -> np.ndarray:
    """Integer labels (N,) -> one-hot float32 (N, 5), the targets of categorical cross-entropy."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= N_CLASSES:
        raise ValueError(f"labels: expected a 1-D integer array of values 0..{N_CLASSES - 1}, "
                         f"got {labels.dtype} {labels.shape}")
    return np.eye(N_CLASSES, dtype=np.float32)[labels]


def confusion_table(y_true, y_pred) -> pd.DataFrame:
    """Counts: rows = true class, columns = predicted class, labelled with emoji and name."""
    counts = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    names = [f"{e} {n}" for e, n in zip(EMOJIS, NAMES)]
    return pd.DataFrame(counts, index=pd.Index(names, name="true"), columns=pd.Index(names, name="predicted"))


def mistakes_table(texts: Sequence[str], y_true, probs: np.ndarray) -> pd.DataFrame:
    """The misclassified sentences, most confident mistakes first: text, true, predicted, confidence."""
    y_true, pred = np.asarray(y_true), probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    table = pd.DataFrame({"text": np.asarray(texts, dtype=object)[wrong],
                          "true": [f"{EMOJIS[i]} {NAMES[i]}" for i in y_true[wrong]],
                          "predicted": [f"{EMOJIS[i]} {NAMES[i]}" for i in pred[wrong]],
                          "confidence": probs[wrong, pred[wrong]].round(3),
                          "p(true)": probs[wrong, y_true[wrong]].round(3)})
    return table.sort_values("confidence", ascending=False).reset_index(drop=True)
