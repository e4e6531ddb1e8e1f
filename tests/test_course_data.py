"""Checks of the course's own data sets (written for the course, shipped in data/):

- data/emoji/ (lesson 08): train.csv, val.csv, test.csv with columns text,label; five classes.
- data/text_classification/ (lesson 09): news_sentences.csv with columns text,label,group; four classes.

Each check has a small test of its own on made-up rows, so a check that could never fail would show up.
The near-duplicate check: two sentences are near duplicates when they share at least 80% of the word
bigrams of the shorter one (|A & B| / min(|A|, |B|) >= 0.8, lower case, punctuation dropped, digits -> 0).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
EMOJI_DIR = REPO / "data" / "emoji"
NEWS_DIR = REPO / "data" / "text_classification"
NEWS_FILE = NEWS_DIR / "news_sentences.csv"

SPLITS = ("train", "val", "test")
EMOJI_CLASSES = {0: ("love", "❤️"), 1: ("sports", "⚾"), 2: ("happy", "😄"),
                 3: ("sad", "😞"), 4: ("food", "🍴")}
NEWS_CLASSES = ("Education", "Finance", "Politics", "Sports")

EMOJI_MAX_WORDS = 10
EMOJI_MIN_TOTAL = 450
EMOJI_MIN_SHARE = 0.15  # every class at least 15% of every split
NEWS_MIN_TOTAL = 800
NEWS_MAX_RATIO = 1.10  # "balanced within 10%": largest class count / smallest class count <= 1.10
NEAR_DUP = 0.8


# ----------------------------------------------------------------------------- helpers


def normalise(text: str) -> str:
    """Lower case, punctuation stripped, whitespace collapsed: "Love you, Mom!" -> "love you mom"."""
    return " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())


def bigrams(text: str) -> set[tuple[str, str]]:
    words = [re.sub(r"\d+", "0", w) for w in normalise(text).split()]
    return set(zip(words, words[1:]))


def near_duplicates(texts, keys, threshold=NEAR_DUP, min_bigrams=1):
    """Pairs (i, j) with keys[i] != keys[j] whose texts share >= threshold of the shorter one's bigrams.

    An inverted index from bigram to sentences keeps this fast: only pairs that share a bigram are counted.
    Sentences with fewer than ``min_bigrams`` bigrams are skipped.
    """
    grams = [bigrams(t) for t in texts]
    index = defaultdict(list)
    for i, g in enumerate(grams):
        if len(g) >= min_bigrams:
            for b in g:
                index[b].append(i)
    pairs = []
    for i, g in enumerate(grams):
        if len(g) < min_bigrams:
            continue
        shared = Counter(j for b in g for j in index[b] if j > i)
        for j, n in shared.items():
            if keys[i] != keys[j] and n / min(len(g), len(grams[j])) >= threshold:
                pairs.append((i, j))
    return pairs


def read_csv(path: Path) -> pd.DataFrame:
    # keep_default_na=False: a sentence such as "None" stays text; an empty field becomes "" and is caught.
    return pd.read_csv(path, encoding="utf-8", keep_default_na=False)


def read_emoji() -> dict[str, pd.DataFrame]:
    return {s: read_csv(EMOJI_DIR / f"{s}.csv") for s in SPLITS}


def read_news() -> pd.DataFrame:
    return read_csv(NEWS_FILE)


def check_text_column(df: pd.DataFrame, where: str) -> None:
    texts = df["text"]
    assert texts.map(lambda t: isinstance(t, str)).all(), f"{where}: non-string text"
    bad = df[(texts.str.strip() == "") | (texts != texts.str.strip()) | (texts.map(normalise) == "")]
    assert bad.empty, f"{where}: empty text or text with surrounding spaces:\n{bad}"


def within_file_duplicates(texts) -> list[str]:
    counts = Counter(normalise(t) for t in texts)
    return sorted(t for t, n in counts.items() if n > 1)


def shared_between_splits(frames: dict[str, pd.DataFrame]) -> list[tuple[str, str, str]]:
    seen: dict[str, str] = {}
    clashes = []
    for split, df in frames.items():
        for t in set(df["text"].map(normalise)):
            if t in seen:
                clashes.append((t, seen[t], split))
            else:
                seen[t] = split
    return clashes


def readme_emoji_counts(text: str):
    """Rows `| 0 | love | ❤️ | train | val | test | total |` and `| | **total** | | ... |`
    of the README table."""
    rows = {}
    for m in re.finditer(r"^\|\s*(\d)\s*\|\s*(\w+)\s*\|\s*([^|]*?)\s*\|"
                         r"\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|",
                         text, re.M):
        rows[int(m[1])] = (m[2], m[3], *map(int, m.group(4, 5, 6, 7)))
    m = re.search(r"^\|\s*\|\s*\*\*total\*\*\s*\|[^|]*\|"
                  r"\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", text, re.M)
    total = tuple(map(int, m.groups())) if m else None
    return rows, total


def readme_news_counts(text: str):
    """Rows `| Education | sentences | groups | multi-sentence groups | sentences in them |`
    and the total row."""
    rows = {}
    for m in re.finditer(r"^\|\s*(\*\*total\*\*|[A-Z]\w+)\s*\|"
                         r"\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", text, re.M):
        rows[m[1].strip("*")] = tuple(map(int, m.group(2, 3, 4, 5)))
    return rows


def news_counts(df: pd.DataFrame, labels) -> dict[str, tuple[int, int, int, int]]:
    sizes = df.groupby("group").size()
    multi = set(sizes[sizes > 1].index)
    out = {}
    for name in labels:
        part = df if name == "total" else df[df["label"] == name]
        in_multi = part[part["group"].isin(multi)]
        out[name] = (len(part), part["group"].nunique(), in_multi["group"].nunique(), len(in_multi))
    return out


# ----------------------------------------------------------------------------- the helpers can fail


def test_helpers_catch_what_they_should():
    assert normalise("  Love you, Mom!! ") == "love you mom"
    assert within_file_duplicates(["I'm hungry", "im HUNGRY!", "I am hungry"]) == ["im hungry"]
    assert shared_between_splits({"train": pd.DataFrame({"text": ["Go team!"]}),
                                  "test": pd.DataFrame({"text": ["go TEAM"]})}) == [
        ("go team", "train", "test")]
    # a template variant (a number changed) in another group is flagged; a rephrasing is not
    texts = ["Shares of Kestrel Bank fell 6 percent after weak earnings.",
             "Shares of Kestrel Bank fell 9 percent after weak earnings.",
             "Kestrel Bank stock slid when the lender posted weaker quarterly results."]
    assert near_duplicates(texts, [1, 2, 3]) == [(0, 1)]
    assert near_duplicates(texts, [1, 1, 3]) == []  # same group: allowed
    assert near_duplicates(["I love you", "Dad I love you"], [1, 2]) == [(0, 1)]
    assert near_duplicates(["I love you", "Dad I love you"], [1, 2], min_bigrams=3) == []
    rows, total = readme_emoji_counts("| 0 | love | ❤️ | 3 | 1 | 1 | 5 |\n| | **total** | | 3 | 1 | 1 | 5 |\n")
    assert rows == {0: ("love", "❤️", 3, 1, 1, 5)} and total == (3, 1, 1, 5)
    assert readme_news_counts("| Sports | 10 | 8 | 2 | 4 |\n| **total** | 10 | 8 | 2 | 4 |\n") == {
        "Sports": (10, 8, 2, 4), "total": (10, 8, 2, 4)}
    with pytest.raises(AssertionError):
        check_text_column(pd.DataFrame({"text": ["ok", " "]}), "made-up")


# ----------------------------------------------------------------------------- emoji (lesson 08)


def test_emoji_files_exist_and_parse_with_the_right_columns():
    for split, df in read_emoji().items():
        assert list(df.columns) == ["text", "label"], f"{split}.csv columns: {list(df.columns)}"
        assert len(df) > 0, f"{split}.csv is empty"
        assert pd.api.types.is_integer_dtype(df["label"]), f"{split}.csv: labels are not integers"
        check_text_column(df, f"emoji/{split}.csv")
    assert (EMOJI_DIR / "README.md").is_file()


def test_emoji_labels_are_the_five_classes():
    for split, df in read_emoji().items():
        assert set(df["label"]) == set(EMOJI_CLASSES), f"{split}: labels {sorted(set(df['label']))}"


def test_emoji_sentences_have_1_to_10_words():
    for split, df in read_emoji().items():
        n = df["text"].str.split().str.len()
        too_long = df[n > EMOJI_MAX_WORDS]
        assert too_long.empty, f"{split}: sentences over {EMOJI_MAX_WORDS} words:\n{too_long}"
        assert (n >= 1).all()


def test_emoji_total_size():
    total = sum(len(df) for df in read_emoji().values())
    assert total >= EMOJI_MIN_TOTAL, f"{total} sentences, at least {EMOJI_MIN_TOTAL} needed"


def test_emoji_every_class_is_at_least_15_percent_of_every_split():
    for split, df in read_emoji().items():
        share = df["label"].value_counts(normalize=True).reindex(list(EMOJI_CLASSES), fill_value=0)
        low = share[share < EMOJI_MIN_SHARE]
        assert low.empty, f"{split}: classes under {EMOJI_MIN_SHARE:.0%}: {low.round(3).to_dict()}"


def test_emoji_no_sentence_in_two_splits():
    clashes = shared_between_splits(read_emoji())
    assert not clashes, f"sentences (normalised) in two splits: {clashes}"


def test_emoji_no_near_duplicates_across_splits():
    """A sentence and a near copy of it (>= 80% of the shorter one's bigrams, 3+ words) stay in one split."""
    frames = read_emoji()
    texts = [t for s in SPLITS for t in frames[s]["text"]]
    keys = [s for s in SPLITS for _ in range(len(frames[s]))]
    pairs = near_duplicates(texts, keys, min_bigrams=2)
    assert not pairs, "near duplicates in different splits: " + "; ".join(
        f"{texts[i]!r} ({keys[i]}) ~ {texts[j]!r} ({keys[j]})" for i, j in pairs)


PUBLIC_EMOJIFY_HASHES = REPO / "tests" / "data" / "emojify_public_sentences.sha256"


def sentence_hash(text: str) -> str:
    """The first 16 hex digits of the sha256 of the normalised sentence (the format of the hash file)."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:16]


# sha256 of the first 124 rows of test.csv ("text<TAB>label" lines): the test split of version 3, unchanged.
EMOJI_TEST_V3_ROWS = 124
EMOJI_TEST_V3_SHA256 = "0112aea87fd2bde91000263e40b0bc4ac30202ebed7f3e3b6a2e04eb920ea077"


def test_emoji_test_split_starts_with_the_version_3_test_split():
    """The notebook reports the old and the new part of the test split apart: the old part must be intact."""
    test = read_emoji()["test"]
    rows = "\n".join(f"{t}\t{label}" for t, label in zip(test["text"][:EMOJI_TEST_V3_ROWS],
                                                         test["label"][:EMOJI_TEST_V3_ROWS]))
    assert hashlib.sha256(rows.encode("utf-8")).hexdigest() == EMOJI_TEST_V3_SHA256
    assert len(test) > EMOJI_TEST_V3_ROWS


def test_emoji_keeps_out_the_public_emojify_sentences():
    """No sentence of the public Coursera "Emojify" set (kept as hashes, not text) is in data/emoji/."""
    lines = PUBLIC_EMOJIFY_HASHES.read_text(encoding="utf-8").splitlines()
    public = {line for line in lines if line and not line.startswith("#")}
    assert len(public) == 189 and all(re.fullmatch(r"[0-9a-f]{16}", h) for h in public)
    assert sentence_hash("I love you!") in public and sentence_hash("I love you, Grandma") not in public
    found = [(split, t) for split, df in read_emoji().items() for t in df["text"]
             if sentence_hash(t) in public]
    assert not found, f"sentences of the public Emojify set: {found}"


def test_emoji_no_duplicates_within_a_file():
    for split, df in read_emoji().items():
        dups = within_file_duplicates(df["text"])
        assert not dups, f"{split}: duplicate sentences (normalised): {dups}"


def test_emoji_readme_counts_match_the_data():
    frames = read_emoji()
    rows, total = readme_emoji_counts((EMOJI_DIR / "README.md").read_text(encoding="utf-8"))
    assert set(rows) == set(EMOJI_CLASSES), f"README count table has rows for labels {sorted(rows)}"
    for label, (name, emoji) in EMOJI_CLASSES.items():
        counts = [int((frames[s]["label"] == label).sum()) for s in SPLITS]
        assert rows[label] == (name, emoji, *counts, sum(counts)), f"README row {label}: {rows[label]}"
    sizes = [len(frames[s]) for s in SPLITS]
    assert total == (*sizes, sum(sizes)), f"README total row {total}, data {sizes}"


# The two outside-style splits (data/emoji/README.md, version 5): written apart from everything else.
OUTSIDE_SPLITS = ("outside_val", "outside_test")
OUTSIDE_TEST_MIN = 150
OUTSIDE_MAX_WORDS = 12


def read_outside() -> dict[str, pd.DataFrame]:
    return {s: read_csv(EMOJI_DIR / f"{s}.csv") for s in OUTSIDE_SPLITS}


def test_outside_files_parse_with_the_five_labels_and_short_sentences():
    for split, df in read_outside().items():
        assert list(df.columns) == ["text", "label"], f"{split}: columns {list(df.columns)}"
        check_text_column(df, f"emoji/{split}.csv")
        assert set(df["label"]) == set(EMOJI_CLASSES), f"{split}: labels {sorted(set(df['label']))}"
        n = df["text"].str.split().str.len()
        assert n.max() <= OUTSIDE_MAX_WORDS, f"{split}: {df['text'][n.idxmax()]!r} has {n.max()} words"
        share = df["label"].value_counts(normalize=True)
        assert share.min() >= EMOJI_MIN_SHARE, f"{split}: class shares {share.round(3).to_dict()}"
    assert len(read_outside()["outside_test"]) >= OUTSIDE_TEST_MIN


def test_outside_sentences_are_new_to_the_data_and_to_each_other():
    """Neither the same sentence nor a near copy of one in another split (the rule of the other splits),
    nor a sentence of the public Emojify set."""
    frames = {**read_emoji(), **read_outside()}
    clashes = shared_between_splits(frames)
    assert not clashes, f"sentences (normalised) in two splits: {clashes}"
    texts = [t for df in frames.values() for t in df["text"]]
    keys = [s for s, df in frames.items() for _ in range(len(df))]
    pairs = [(i, j) for i, j in near_duplicates(texts, keys, min_bigrams=2)
             if {keys[i], keys[j]} & set(OUTSIDE_SPLITS)]
    assert not pairs, "near duplicates in different splits: " + "; ".join(
        f"{texts[i]!r} ({keys[i]}) ~ {texts[j]!r} ({keys[j]})" for i, j in pairs)
    public = {line for line in PUBLIC_EMOJIFY_HASHES.read_text(encoding="utf-8").splitlines()
              if line and not line.startswith("#")}
    for split, df in read_outside().items():
        assert not within_file_duplicates(df["text"]), f"{split}: duplicate sentences"
        assert not [t for t in df["text"] if sentence_hash(t) in public], f"{split}: public Emojify sentences"


def test_outside_readme_counts_match_the_data():
    text = (EMOJI_DIR / "README.md").read_text(encoding="utf-8")
    for split, df in read_outside().items():
        counts = [int((df["label"] == label).sum()) for label in EMOJI_CLASSES]
        row = f"| `{split}.csv` | {len(df)} | " + " | ".join(map(str, counts)) + " |"
        assert row in text, f"README should have the row starting {row!r}"


# --------------------------------------------------------------------------- text classification (lesson 09)


def test_news_file_exists_and_parses_with_the_right_columns():
    df = read_news()
    assert list(df.columns) == ["text", "label", "group"], f"columns: {list(df.columns)}"
    assert pd.api.types.is_integer_dtype(df["group"]), "group ids are not integers"
    assert (df["group"] > 0).all()
    check_text_column(df, "news_sentences.csv")
    assert (NEWS_DIR / "README.md").is_file()


def test_news_labels_are_the_four_class_names():
    assert set(read_news()["label"]) == set(NEWS_CLASSES)


def test_news_total_size():
    n = len(read_news())
    assert n >= NEWS_MIN_TOTAL, f"{n} sentences, at least {NEWS_MIN_TOTAL} needed"


def test_news_classes_are_balanced_within_10_percent():
    counts = read_news()["label"].value_counts()
    ratio = counts.max() / counts.min()
    assert ratio <= NEWS_MAX_RATIO, (
        f"largest/smallest class = {ratio:.3f} > {NEWS_MAX_RATIO}: {counts.to_dict()}")


def test_news_no_duplicates():
    dups = within_file_duplicates(read_news()["text"])
    assert not dups, f"duplicate sentences (normalised): {dups}"


def test_news_every_group_has_one_label():
    labels_per_group = read_news().groupby("group")["label"].nunique()
    mixed = labels_per_group[labels_per_group > 1]
    assert mixed.empty, f"groups with more than one label: {list(mixed.index)}"


def test_news_near_duplicates_share_a_group():
    df = read_news()
    texts, groups = list(df["text"]), list(df["group"])
    pairs = near_duplicates(texts, groups)
    assert not pairs, "near duplicates in different groups: " + "; ".join(
        f"{texts[i]!r} (group {groups[i]}) ~ {texts[j]!r} (group {groups[j]})" for i, j in pairs)


def test_news_readme_counts_match_the_data():
    rows = readme_news_counts((NEWS_DIR / "README.md").read_text(encoding="utf-8"))
    expected = news_counts(read_news(), (*NEWS_CLASSES, "total"))
    assert rows == expected, f"README table {rows}\ndata {expected}"
