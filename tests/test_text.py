"""Tests of course_utils.text (tokenise, vocabulary, examples, split, predict_next) and of the
medical corpus in data/medical/. Every expected value is written out by hand on tiny inputs."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from course_utils.lessons.next_word.corpus import create_examples, load_medical_corpus, split_sentences
from course_utils.lessons.next_word.evaluation import predict_next
from course_utils.text import build_vocab, pad_sequences, texts_to_sequences, tokenize

REPO = Path(__file__).resolve().parents[1]
MEDICAL = REPO / "data" / "medical"
TOPICS = ["anatomy", "risk_factors", "screening", "symptoms", "diagnosis_biopsy", "staging",
          "receptor_status", "surgery", "radiotherapy", "chemotherapy", "hormone_therapy", "targeted_therapy",
          "survivorship"]


# ---------------------------------------------------------------- tokenize

@pytest.mark.parametrize("text, expected", [
    ("Breast cancer.", ["breast", "cancer"]),
    ("HER2-positive, ER-negative!", ["her2-positive", "er-negative"]),
    ("the patient's lump", ["the", "patient's", "lump"]),
    ("the patient\u2019s lump", ["the", "patient's", "lump"]),              # curly apostrophe
    ("'quoted' words -- and a dash - here", ["quoted", "words", "and", "a", "dash", "here"]),
    ("a 3.5 cm tumour in CDK4/6", ["a", "3", "5", "cm", "tumour", "in", "cdk4", "6"]),
    ("stage IV (T4d)", ["stage", "iv", "t4d"]),
    ("snake_case double--hyphen end-", ["snake", "case", "double", "hyphen", "end"]),
    ("  \t\n ...!? ", []),
    ("", []),
])
def test_tokenize(text, expected):
    assert tokenize(text) == expected


def test_tokenize_rejects_non_strings():
    with pytest.raises(ValueError, match="expected a string, got list"):
        tokenize(["breast"])


# ---------------------------------------------------------------- build_vocab

def test_build_vocab_order_and_special_ids():
    vocab = build_vocab(["b a c a", "c a b d"])       # a:3, b:2, c:2, d:1
    assert vocab == {"<PAD>": 0, "<UNK>": 1, "a": 2, "b": 3, "c": 4, "d": 5}
    assert list(vocab) == ["<PAD>", "<UNK>", "a", "b", "c", "d"]


def test_build_vocab_min_freq_and_determinism():
    texts = ["b a c a", "c a b d"]
    assert build_vocab(texts, min_freq=2) == {"<PAD>": 0, "<UNK>": 1, "a": 2, "b": 3, "c": 4}
    assert build_vocab(texts, min_freq=3) == {"<PAD>": 0, "<UNK>": 1, "a": 2}
    assert build_vocab(list(reversed(texts))) == build_vocab(texts)     # order of texts does not matter


@pytest.mark.parametrize("texts, match", [
    ([], "at least one text"),
    ("breast cancer", "list of strings.*got str"),
    (["ok", 3], r"texts\[1\]: expected a string, got int"),
    (["...", "!"], "no word occurs"),
])
def test_build_vocab_errors(texts, match):
    with pytest.raises(ValueError, match=match):
        build_vocab(texts)


@pytest.mark.parametrize("min_freq", [0, -1, 1.5, True])
def test_build_vocab_bad_min_freq(min_freq):
    with pytest.raises(ValueError, match="min_freq: expected an integer >= 1"):
        build_vocab(["a b"], min_freq=min_freq)


# ---------------------------------------------------------------- texts_to_sequences

def test_texts_to_sequences_maps_unknown_to_unk_not_pad():
    vocab = build_vocab(["b a c a", "c a b d"])
    assert texts_to_sequences(["A b, zebra!", "", "d"], vocab) == [[2, 3, 1], [], [5]]


@pytest.mark.parametrize("vocab, match", [
    ({"a": 0, "<UNK>": 1}, "'<PAD>' -> 0"),
    ({"<PAD>": 1, "<UNK>": 0, "a": 2}, "'<PAD>' -> 0"),
    ({"<PAD>": 0, "<UNK>": 1, "a": 3}, "ids 0..2"),
    (["<PAD>", "<UNK>"], "expected a dict"),
])
def test_bad_vocab(vocab, match):
    with pytest.raises(ValueError, match=match):
        texts_to_sequences(["a"], vocab)


# ---------------------------------------------------------------- create_examples

def test_create_examples_left_pads_and_skips_first_word():
    X, Y = create_examples([[5, 6, 7, 8], [9], [], [3, 4]], seq_len=2)
    assert X.tolist() == [[0, 5], [5, 6], [6, 7], [0, 3]]
    assert Y.tolist() == [6, 7, 8, 4]
    assert X.dtype == np.int64 and Y.dtype == np.int64
    assert X.shape == (4, 2) and Y.shape == (4,)


def test_create_examples_long_context_and_counts():
    X, Y = create_examples([np.array([2, 3, 4])], seq_len=4)
    assert X.tolist() == [[0, 0, 0, 2], [0, 0, 2, 3]] and Y.tolist() == [3, 4]
    X, Y = create_examples([[1, 2, 3, 4, 5, 6]], seq_len=1)          # seq_len 1: a bigram model's inputs
    assert X.tolist() == [[1], [2], [3], [4], [5]] and Y.tolist() == [2, 3, 4, 5, 6]
    lengths = [7, 1, 3, 12]
    X, Y = create_examples([list(range(2, 2 + n)) for n in lengths], seq_len=5)
    assert len(X) == len(Y) == sum(n - 1 for n in lengths)


@pytest.mark.parametrize("sequences, seq_len, match", [
    ([[1, 2]], 0, "seq_len: expected an integer >= 1, got 0"),
    ([[1, 2]], 2.0, "seq_len: expected an integer >= 1"),
    ([], 2, "non-empty list"),
    ([[1], []], 2, "no examples"),
    ([[1.0, 2.0]], 2, r"sequences\[0\].*integer ids.*float64"),
    ([[1, -2]], 2, r"sequences\[0\]: expected ids >= 0"),
    ("abc", 2, "non-empty list"),
])
def test_create_examples_errors(sequences, seq_len, match):
    with pytest.raises(ValueError, match=match):
        create_examples(sequences, seq_len)


# ---------------------------------------------------------------- split_sentences

SENTENCES = [f"sentence number {w} here" for w in "abcdefghijklmnopqrst"]     # 20 distinct


def test_split_sizes_disjoint_and_complete():
    train, val, test = split_sentences(SENTENCES, (0.8, 0.1, 0.1), seed=0)
    assert (len(train), len(val), len(test)) == (16, 2, 2)
    assert set(train).isdisjoint(val) and set(train).isdisjoint(test) and set(val).isdisjoint(test)
    assert sorted(train + val + test) == sorted(SENTENCES)
    assert train == [s for s in SENTENCES if s in set(train)]                 # original order kept


def test_split_deterministic_and_seed_sensitive():
    assert split_sentences(SENTENCES, seed=3) == split_sentences(SENTENCES, seed=3)
    assert split_sentences(SENTENCES, seed=3) != split_sentences(SENTENCES, seed=4)


def test_split_drops_duplicates_after_tokenisation():
    sentences = ["Breast cancer.", "breast  CANCER", "Lymph nodes!", "", "...", "lymph nodes", "HER2 status"]
    train, val, test = split_sentences(sentences, (1 / 3, 1 / 3, 1 / 3), seed=0)
    together = train + val + test
    assert sorted(together) == ["Breast cancer.", "HER2 status", "Lymph nodes!"]     # first occurrences kept
    assert len(train) == len(val) == len(test) == 1


@pytest.mark.parametrize("fractions", [(0.8, 0.1), (0.8, 0.3, 0.1), (1.2, -0.1, -0.1), (0.0, 0.5, 0.5)])
def test_split_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions|none for training"):
        split_sentences(SENTENCES, fractions)


# ---------------------------------------------------------------- predict_next

VOCAB = {"<PAD>": 0, "<UNK>": 1, "breast": 2, "cancer": 3, "screening": 4, "lymph": 5}


class FakeModel:
    """Records its input; returns fixed probabilities (PAD and UNK get mass on purpose)."""

    seq_len = 3

    def __init__(self, probs=(0.3, 0.2, 0.1, 0.25, 0.05, 0.1)):
        self.probs = np.asarray(probs, dtype=np.float32)
        self.seen = None

    def predict_proba(self, X):
        self.seen = X
        return np.tile(self.probs, (len(X), 1))


def test_predict_next_renormalises_without_pad_and_unk():
    model = FakeModel()
    out = predict_next(model, VOCAB, ["breast"], top_k=3)
    # Without PAD (0.3) and UNK (0.2), 0.5 is left: cancer 0.25/0.5, lymph 0.1/0.5, breast 0.1/0.5.
    assert [w for w, _ in out] == ["cancer", "breast", "lymph"]      # the tie breast/lymph: lower id first
    np.testing.assert_allclose([p for _, p in out], [0.5, 0.2, 0.2], rtol=1e-6)
    assert model.seen.tolist() == [[0, 0, 2]] and model.seen.dtype == np.int64      # left-padded


def test_predict_next_all_words_sum_to_one_and_top_k_larger_than_vocab():
    out = predict_next(FakeModel(), VOCAB, "breast cancer", top_k=50)
    assert len(out) == 4                                             # 6 ids minus PAD and UNK
    assert "<PAD>" not in dict(out) and "<UNK>" not in dict(out)
    probs = [p for _, p in out]
    assert probs == sorted(probs, reverse=True)
    assert sum(probs) == pytest.approx(1.0)


def test_predict_next_unknown_words_become_unk_and_long_prefix_is_truncated():
    model = FakeModel()
    predict_next(model, VOCAB, ["Zebra", "breast", "CANCER,", "unheard-of"])
    assert model.seen.tolist() == [[2, 3, 1]]                        # last 3 words; unknown -> 1, never 0


def test_predict_next_with_a_callable_and_seq_len():
    seen = []

    def f(X):
        seen.append(X.copy())
        return np.full((len(X), 6), 1 / 6)
    out = predict_next(f, VOCAB, ["lymph"], top_k=2, seq_len=2)
    assert seen[0].tolist() == [[0, 5]]
    assert out == [("breast", 0.25), ("cancer", 0.25)]
    with pytest.raises(ValueError, match="no seq_len attribute; pass seq_len"):
        predict_next(f, VOCAB, ["lymph"])


@pytest.mark.parametrize("prefix, top_k, match", [
    ([], 5, "prefix_words: expected at least one word"),
    ("", 5, "prefix_words: expected at least one word"),
    (["...", "!"], 5, "prefix_words: expected at least one word"),
    (["breast"], 0, "top_k: expected an integer >= 1, got 0"),
    (["breast"], -2, "top_k: expected an integer >= 1"),
    ([2, 3], 5, r"prefix_words\[0\]: expected a string, got int"),
    (None, 5, "prefix_words: expected a list of words or a string, got NoneType"),
])
def test_predict_next_bad_input(prefix, top_k, match):
    with pytest.raises(ValueError, match=match):
        predict_next(FakeModel(), VOCAB, prefix, top_k=top_k)


@pytest.mark.parametrize("probs, match", [
    ((0.2, 0.2, 0.2, 0.2, 0.2), r"shape \(1, 6\).*got \(1, 5\)"),
    ((3.0, -1.0, 0.5, 0.5, 1.0, 2.0), "did the model return logits"),
    ((0.5, 0.5, 0.0, 0.0, 0.0, 0.0), "all its probability to <PAD> and <UNK>"),
])
def test_predict_next_checks_model_output(probs, match):
    with pytest.raises(ValueError, match=match):
        predict_next(FakeModel(probs), VOCAB, ["breast"])


def test_predict_next_bad_vocab():
    with pytest.raises(ValueError, match="'<UNK>' -> 1"):
        predict_next(FakeModel(), {"<PAD>": 0, "breast": 1}, ["breast"])


# ---------------------------------------------------------------- load_medical_corpus

def test_load_medical_corpus_missing_and_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_ROOT", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="breast_cancer_sentences.txt"):
        load_medical_corpus()
    (tmp_path / "data" / "medical").mkdir(parents=True)
    (tmp_path / "data" / "medical" / "breast_cancer_sentences.txt").write_text("\n  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="is empty"):
        load_medical_corpus()


# ---------------------------------------------------------------- the corpus itself

@pytest.fixture(scope="module")
def corpus():
    return load_medical_corpus()


@pytest.fixture(scope="module")
def topic_rows():
    with open(MEDICAL / "topics.tsv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_corpus_file_is_clean(corpus):
    raw = (MEDICAL / "breast_cancer_sentences.txt").read_text(encoding="utf-8")
    assert raw.isascii()
    assert raw.splitlines() == corpus           # no blank lines, no stray spaces: line n = sentence n


def test_corpus_size(corpus):
    assert len(corpus) >= 3000
    assert sum(len(tokenize(s)) for s in corpus) >= 60000


def fourgrams(sentence: str) -> set[tuple[str, ...]]:
    words = tokenize(sentence)
    return set(zip(words, words[1:], words[2:], words[3:]))


def most_shared_fourgrams(queries, references):
    """For each query sentence, the largest share of its word 4-grams found in one reference sentence.

    An inverted index from 4-gram to reference sentences keeps it fast. A query with no 4-gram
    (fewer than four words) shares nothing.
    """
    index = {}
    for j, sentence in enumerate(references):
        for gram in fourgrams(sentence):
            index.setdefault(gram, []).append(j)
    shares = []
    for sentence in queries:
        grams = fourgrams(sentence)
        counts = Counter(j for gram in grams for j in index.get(gram, ()))
        shares.append(max(counts.values(), default=0) / max(len(grams), 1))
    return np.array(shares)


def test_most_shared_fourgrams_by_hand():
    train = ["the cancer has spread to the lymph nodes", "a mammogram is an x-ray of the breast"]
    shares = most_shared_fourgrams(["the cancer has spread to the bones", "nothing here at all today",
                                    "spread"], train)
    # 4 four-grams in the first query, 3 of them in train[0]; none in the second; the third has none
    np.testing.assert_allclose(shares, [3 / 4, 0.0, 0.0])


def test_no_test_sentence_is_a_near_copy_of_a_training_sentence(corpus):
    train, val, test = split_sentences(corpus, seed=0)
    for name, part in (("validation", val), ("test", test)):
        shares = most_shared_fourgrams(part, train)
        worst = int(np.argmax(shares))
        assert shares.max() <= 0.5, (f"a {name} sentence shares {shares.max():.0%} of its 4-grams with a "
                                     f"training sentence: {part[worst]!r}")


def test_corpus_has_no_duplicate_sentences(corpus):
    counts = Counter(tuple(tokenize(s)) for s in corpus)
    assert [" ".join(k) for k, c in counts.items() if c > 1] == []
    assert all(len(tokenize(s)) >= 3 for s in corpus)


def test_corpus_topics(corpus, topic_rows):
    assert [int(r["line_number"]) for r in topic_rows] == list(range(1, len(corpus) + 1))
    topics = Counter(r["topic"] for r in topic_rows)
    assert set(TOPICS) <= set(topics), f"missing topics: {set(TOPICS) - set(topics)}"
    assert set(topics) <= set(TOPICS) | {"overview"}
    assert min(topics[t] for t in TOPICS) >= 20


def test_readme_counts_match_topics_file(corpus, topic_rows):
    readme = (MEDICAL / "README.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `(\w+)` \| (\d+) \|", readme, flags=re.M))
    counts = Counter(r["topic"] for r in topic_rows)
    assert {t: int(n) for t, n in table.items()} == dict(counts)
    assert f"| **total** | **{len(corpus)}** |" in readme
    assert "not medical advice" in readme


def test_corpus_default_split_has_every_topic_everywhere(corpus, topic_rows):
    topic_of = {s: r["topic"] for s, r in zip(corpus, topic_rows)}
    for part in split_sentences(corpus, seed=0):
        assert set(topic_of[s] for s in part) == set(topic_of.values())


def test_pad_sequences_cuts_and_pads_at_the_end():
    np.testing.assert_array_equal(pad_sequences([[5, 6, 7], [8], []], max_len=2), [[5, 6], [8, 0], [0, 0]])
    assert pad_sequences([[1]], max_len=3).dtype == np.int64
    with pytest.raises(ValueError, match="max_len"):
        pad_sequences([[1]], max_len=0)
