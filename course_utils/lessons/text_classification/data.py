"""News-sentence classification (lesson 09): the sentences, checked, and split with no idea group
in two splits.

    df = load_news()                                   # checked: columns, labels, texts, groups
    splits = split_by_group(df, seed=0)                # train / val / test
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from course_utils.paths import data_dir

CLASSES = ("Education", "Finance", "Politics", "Sports")


COLUMNS = ("text", "label", "group")


NEWS_FILE = ("text_classification", "news_sentences.csv")  # under data/


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
    """Read ``data/text_classification/news_sentences.csv`` (or ``path``) and check it
    (:func:`validate_news`).

    ``keep_default_na=False``: a sentence such as "None" stays text, an empty field becomes "" and is caught.
    """
    path = data_dir().joinpath(*NEWS_FILE) if path is None else path
    return validate_news(pd.read_csv(path, encoding="utf-8", keep_default_na=False))


def encode_labels(labels, classes: Sequence[str] = CLASSES) -> np.ndarray:
    """Class names -> integer ids in the order of ``classes``: (N,) int64.

    Unknown names raise ``ValueError``.
    """
    index = {c: i for i, c in enumerate(classes)}
    labels = list(labels)
    unknown = sorted({lab for lab in labels if lab not in index}, key=str)
    if unknown:
        raise ValueError(f"unknown label(s) {unknown}: expected one of {list(classes)}")
    return np.array([index[lab] for lab in labels], dtype=np.int64)


@dataclass
class Splits:
    """Three data frames with the columns of :func:`validate_news`; their index is the row of the
    full table."""

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
        raise RuntimeError(f"split_by_group: groups {sorted(shared)[:5]} are in two splits, "
                           "or rows were lost")
    return splits
