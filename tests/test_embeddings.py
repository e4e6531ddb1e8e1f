"""Pre-trained embeddings (GloVe reader, MiniLM WordPiece table) and the Keras set-up."""

import os
import subprocess
import sys

import numpy as np
import pytest

from course_utils.embeddings import (
    PAD_ID,
    find_glove,
    keras_embedding,
    load_glove,
    load_minilm_wordpiece,
    read_glove_vecs,
)
from course_utils.paths import project_root

GLOVE_LINES = [
    "the 0.1 0.2 0.3",
    "cat 1.0 0.0 0.0",
    "dog 0.9 0.1 0.0",
    "pizza 0.0 0.0 1.0",
    "cat 5.0 5.0 5.0",  # a duplicate: the first vector wins
    "",
]


@pytest.fixture
def glove_file(tmp_path):
    path = tmp_path / "glove.test.3d.txt"
    path.write_text("\n".join(GLOVE_LINES), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def minilm():
    return load_minilm_wordpiece()


# ------------------------------------------------------------------------------------------ GloVe

def test_read_glove_vecs_index_and_matrix(glove_file):
    word_to_index, matrix = read_glove_vecs(glove_file)
    assert word_to_index == {"<PAD>": 0, "<UNK>": 1, "the": 2, "cat": 3, "dog": 4, "pizza": 5}
    assert matrix.shape == (6, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], 0.0)  # padding: zeros
    vectors = np.array([[0.1, 0.2, 0.3], [1, 0, 0], [0.9, 0.1, 0], [0, 0, 1]], np.float32)
    np.testing.assert_allclose(matrix[2:], vectors)  # file order, first "cat" kept
    np.testing.assert_allclose(matrix[1], vectors.mean(axis=0), rtol=1e-6)  # unknown: the mean vector


def test_glove_embeddings_encode_unknown_is_not_padding(glove_file):
    emb = load_glove(glove_file)
    x = emb.encode(["The cat", "the zebra dog"], max_len=4)
    np.testing.assert_array_equal(x, [[2, 3, 0, 0], [2, 1, 4, 0]])
    assert emb.unk_id == 1 != PAD_ID
    assert emb.unknown_rate(["the zebra dog"]) == pytest.approx(1 / 3)
    assert list(emb.nearest("cat", k=1).token) == ["dog"]


def test_standardized_table_has_unit_columns_and_keeps_padding_and_tokens(glove_file):
    emb = load_glove(glove_file)
    std = emb.standardized()
    assert std.is_standardized and not emb.is_standardized and std.name.endswith("standardised")
    rows = std.matrix[1:].astype(np.float64)                       # every row but padding
    np.testing.assert_allclose(rows.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(rows.std(axis=0), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(std.matrix[PAD_ID], 0.0)
    assert std.matrix.dtype == np.float32 and not std.matrix.flags.writeable
    raw = emb.matrix[1:].astype(np.float64)                        # column by column: (raw - mean) / std
    np.testing.assert_allclose(rows, (raw - raw.mean(axis=0)) / raw.std(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(std.encode(["the zebra dog"], 4), emb.encode(["the zebra dog"], 4))
    assert not np.shares_memory(std.matrix, emb.matrix)            # the original is untouched
    assert std.standardized() is std                               # standardising twice changes nothing


@pytest.mark.parametrize("content, message", [
    ("", "no vectors"),
    ("cat 1.0 2.0\ndog 1.0\n", "line 2"),
    ("cat 1.0 two\n", "not all numbers"),
    ("cat\n", "line 1"),
])
def test_read_glove_vecs_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_glove_vecs(path)


def test_read_glove_vecs_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="GloVe file not found"):
        read_glove_vecs(tmp_path / "nope.txt")


def test_find_glove_offline(tmp_path, monkeypatch):
    import course_utils.data as data
    import course_utils.embeddings as embeddings

    # Ignore a real cached copy: the search (course_utils.data) and the download target (embeddings).
    monkeypatch.setattr(data, "data_dir", lambda: tmp_path / "data")
    monkeypatch.setattr(embeddings, "data_dir", lambda: tmp_path / "data")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(tmp_path / "mirror"))
    with pytest.raises(ValueError, match="50, 100, 200 or 300"):
        find_glove(64)
    with pytest.raises(FileNotFoundError, match=r"glove.6B.50d.txt not found.*download=True"):
        find_glove(50)  # nowhere, and download=False: no network
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "glove.6B.50d.txt").write_text("a " + " ".join(["0.5"] * 50) + "\n")
    assert find_glove(50) == tmp_path / "mirror" / "glove.6B.50d.txt"


# ------------------------------------------------------------------------- MiniLM WordPiece

def test_minilm_table_shape_and_special_ids(minilm):
    assert minilm.matrix.shape == (30522, 384) and minilm.matrix.dtype == np.float32
    assert minilm.pad_id == 0 and minilm.unk_id == 100
    np.testing.assert_array_equal(minilm.matrix[0], 0.0)
    assert np.linalg.norm(minilm.matrix[1000:1100], axis=1).min() > 0.1  # real vectors, not zeros
    with pytest.raises(ValueError):
        minilm.matrix[5, 0] = 1.0  # the table is read-only: frozen means frozen


def test_minilm_tokenises_without_special_tokens(minilm):
    expected = ["i", "'", "m", "not", "happy", ",", "ronald", "##o", "!"]
    assert minilm.tokens("I'm NOT happy, Ronaldo!") == expected
    x = minilm.encode(["I love you", "Let's play ball tonight"], max_len=5)
    assert x.shape == (2, 5) and x.dtype == np.int64
    assert x[0, 3:].tolist() == [0, 0] and (x[0, :3] != 0).all()  # padded at the end
    assert minilm.encode(["a b c d e f g"], max_len=3).shape == (1, 3)  # truncated
    assert minilm.lengths(["I love you", "ronaldo"]).tolist() == [3, 2]
    assert minilm.ids("🍕") == [minilm.unk_id]


def test_minilm_nearest_neighbours_make_sense(minilm):
    neighbours = minilm.nearest("baseball", k=5)
    assert list(neighbours.columns) == ["token", "cosine"] and len(neighbours) == 5
    assert "baseball" not in set(neighbours.token) and not any(t.startswith("##") for t in neighbours.token)
    assert {"basketball", "softball", "mlb"} & set(neighbours.token)
    assert neighbours.cosine.is_monotonic_decreasing


@pytest.mark.parametrize("texts, message", [
    ("just one string", "list of strings"),
    (["fine", ""], r"texts\[1\].*empty"),
    (["fine", "   "], r"texts\[1\].*whitespace"),
    (["fine", 3], r"texts\[1\].*string"),
])
def test_encode_rejects_bad_texts(minilm, texts, message):
    with pytest.raises(ValueError, match=message):
        minilm.encode(texts, max_len=4)


def test_encode_rejects_bad_max_len(minilm):
    with pytest.raises(ValueError, match="max_len"):
        minilm.encode(["hello"], max_len=0)


# --------------------------------------------------------------------------------------- Keras

def test_keras_embedding_is_frozen_masked_and_exact(minilm):
    from course_utils.keras_setup import import_keras, seed_keras

    keras = import_keras()
    assert keras.backend.backend() == "torch"
    seed_keras(0)
    layer = keras_embedding(minilm)
    model = keras.Sequential([keras.Input((6,), dtype="int32"), layer, keras.layers.LSTM(4),
                              keras.layers.Dense(2, activation="softmax")])
    assert layer.trainable is False and layer.mask_zero is True
    assert all(w is not layer.embeddings for w in model.trainable_weights)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.embeddings), minilm.matrix)
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="sparse_categorical_crossentropy")
    x = minilm.encode(["I love you", "we lost the game"], max_len=6)
    model.fit(x, np.array([0, 1]), epochs=2, verbose=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.embeddings), minilm.matrix)
    # Padding is masked: the same sentence padded to 6 or to 9 gives the same output.
    longer = keras.Sequential([keras.Input((9,), dtype="int32"), *model.layers])
    x_longer = minilm.encode(["I love you", "we lost the game"], max_len=9)
    to_numpy = keras.ops.convert_to_numpy
    np.testing.assert_allclose(to_numpy(model(x)), to_numpy(longer(x_longer)), rtol=1e-5, atol=1e-6)


def test_import_keras_refuses_another_backend():
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    code = "from course_utils.keras_setup import import_keras; import_keras()"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0 and "PyTorch backend" in result.stderr


def test_import_keras_picks_the_backend_a_project_local_home_and_the_course_device(tmp_path):
    """In a fresh process with none of Keras's variables set (one process for the three checks: importing
    Keras and PyTorch takes seconds)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("KERAS_BACKEND", "KERAS_HOME", "KERAS_TORCH_DEVICE")}
    code = ("import os; from course_utils.keras_setup import import_keras; k = import_keras(); "
            "from course_utils.hardware import choose_device; "
            "from keras.src.backend.torch.core import get_device; "
            "print(k.backend.backend(), os.environ['KERAS_HOME'], get_device(), choose_device())")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    backend, home, keras_device, course_device = result.stdout.split()
    assert backend == "torch" and home == str(project_root() / ".keras")
    assert keras_device == course_device
