"""Tests of course_utils.results: the results file and the README table."""

import json
import math

import numpy as np
import pytest

from course_utils import results as R


@pytest.fixture
def path(tmp_path):
    return tmp_path / "figures" / "results.json"


def test_round_trip(path):
    metrics = {"test_mse": 0.0125, "epochs": 30, "best_model": "lstm", "early_stopped": True,
               "per_class": {"sports": 0.9}, "curve": [1.0, 0.5]}
    entry = R.record_results("03_sine_forecasting", metrics, seconds=12.5, mode="full", path=path)
    assert entry == {"mode": "full", "seconds": 12.5, "metrics": metrics}
    assert R.load_results(path) == {"03_sine_forecasting": entry}


def test_file_is_sorted_indented_and_ends_with_newline(path):
    R.record_results("09_text_classification", {"b": 1, "a": 2}, 1.0, mode="full", path=path)
    R.record_results("02_char_lstm_dickens", {"z": 1.5}, 2.0, mode="full", path=path)
    text = path.read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert text.index("02_char_lstm_dickens") < text.index("09_text_classification")


def test_notebook_name_with_suffix_is_reduced_to_its_stem(path):
    R.record_results("notebooks/01_lstm_cell_by_hand.ipynb", {"h": 0.1}, 1.0, mode="full", path=path)
    assert list(R.load_results(path)) == ["01_lstm_cell_by_hand"]


def test_mode_defaults_to_run_mode(path, monkeypatch):
    monkeypatch.setenv("COURSE_MODE", "quick")
    assert R.record_results("03_x", {"a": 1.0}, 1.0, path=path)["mode"] == "quick"
    monkeypatch.delenv("COURSE_MODE")
    assert R.record_results("03_x", {"a": 1.0}, 1.0, path=path)["mode"] == "full"


def test_quick_does_not_overwrite_full(path, capsys):
    full = R.record_results("03_x", {"test_mse": 0.01}, 100.0, mode="full", path=path)
    before = path.read_bytes()
    returned = R.record_results("03_x", {"test_mse": 0.5}, 1.0, mode="quick", path=path)
    assert path.read_bytes() == before
    assert R.load_results(path)["03_x"] == full
    assert returned["mode"] == "quick" and returned["metrics"] == {"test_mse": 0.5}
    assert "not recorded" in capsys.readouterr().out


def test_quick_overwrites_quick_and_is_added_beside_full(path):
    R.record_results("03_x", {"a": 1.0}, 1.0, mode="full", path=path)
    R.record_results("04_y", {"a": 1.0}, 1.0, mode="quick", path=path)
    R.record_results("04_y", {"a": 2.0}, 2.0, mode="quick", path=path)
    data = R.load_results(path)
    assert data["03_x"]["mode"] == "full"
    assert data["04_y"] == {"mode": "quick", "seconds": 2.0, "metrics": {"a": 2.0}}


def test_full_overwrites_quick_and_full(path):
    R.record_results("03_x", {"a": 1.0}, 1.0, mode="quick", path=path)
    R.record_results("03_x", {"a": 2.0}, 20.0, mode="full", path=path)
    assert R.load_results(path)["03_x"] == {"mode": "full", "seconds": 20.0, "metrics": {"a": 2.0}}
    R.record_results("03_x", {"a": 3.0}, 30.0, mode="full", path=path)
    assert R.load_results(path)["03_x"] == {"mode": "full", "seconds": 30.0, "metrics": {"a": 3.0}}


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -math.inf, np.float32("nan"), np.float64("inf")])
def test_non_finite_numbers_are_rejected_naming_the_key(path, bad):
    with pytest.raises(ValueError, match="test_mse"):
        R.record_results("03_x", {"ok": 1.0, "test_mse": bad}, 1.0, mode="full", path=path)
    assert not path.exists()


@pytest.mark.parametrize("bad", [object(), {1, 2}, b"bytes", 1 + 2j])
def test_non_json_values_are_rejected_naming_the_key(path, bad):
    with pytest.raises(ValueError, match="weird"):
        R.record_results("03_x", {"weird": bad}, 1.0, mode="full", path=path)
    assert not path.exists()


def test_nested_bad_value_and_bad_seconds_and_mode_are_rejected(path):
    with pytest.raises(ValueError, match=r"per_class.*sports"):
        R.record_results("03_x", {"per_class": {"sports": float("nan")}}, 1.0, mode="full", path=path)
    with pytest.raises(ValueError, match="seconds"):
        R.record_results("03_x", {"a": 1.0}, float("nan"), mode="full", path=path)
    with pytest.raises(ValueError, match="seconds"):
        R.record_results("03_x", {"a": 1.0}, -1.0, mode="full", path=path)
    with pytest.raises(ValueError, match="mode"):
        R.record_results("03_x", {"a": 1.0}, 1.0, mode="fast", path=path)
    assert not path.exists()


def test_numpy_scalars_and_arrays_become_plain_python(path):
    metrics = {"f32": np.float32(0.5), "f64": np.float64(0.25), "i64": np.int64(7), "b": np.bool_(True),
               "arr": np.array([[1, 2], [3, 4]]), "zero_d": np.array(1.5)}
    entry = R.record_results("07_x", metrics, np.float64(3.0), mode="full", path=path)
    m = entry["metrics"]
    assert m == {"f32": 0.5, "f64": 0.25, "i64": 7, "b": True, "arr": [[1, 2], [3, 4]], "zero_d": 1.5}
    assert type(m["f32"]) is float and type(m["i64"]) is int and type(m["b"]) is bool
    assert type(entry["seconds"]) is float
    assert R.load_results(path)["07_x"] == entry


def test_atomic_write_leaves_no_temporary_files(path):
    for i in range(3):
        R.record_results(f"0{i + 1}_x", {"a": float(i)}, 1.0, mode="full", path=path)
    assert files_beside(path) == ["results.json"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary_files(path, monkeypatch):
    R.record_results("03_x", {"a": 1.0}, 1.0, mode="full", path=path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(R.os, "replace", broken_replace)
    with pytest.raises(OSError):
        R.record_results("03_x", {"a": 2.0}, 1.0, mode="full", path=path)
    assert path.read_bytes() == before
    assert files_beside(path) == ["results.json"]


def files_beside(path):
    """The files in the results folder, without the lock file that record_results keeps there."""
    return sorted(p.name for p in path.parent.iterdir() if p.name != "results.json.lock")


def _record_many(path, worker):
    for k in range(10):
        R.record_results(f"{worker}{k}_x", {"k": k}, 1.0, mode="full", path=path)


def test_notebooks_recording_at_the_same_time_lose_nothing(path):
    # make course runs notebooks side by side: every entry must survive (the lock in record_results)
    import multiprocessing

    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_record_many, args=(path, w)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert sorted(R.load_results(path)) == sorted(f"{w}{k}_x" for w in range(4) for k in range(10))


def test_load_missing_file_is_empty(path):
    assert R.load_results(path) == {}


def test_corrupt_json_gives_a_clear_error(path):
    path.parent.mkdir(parents=True)
    path.write_text('{"03_x": {"mode": "full",\n<<<<<<< HEAD\n')
    with pytest.raises(ValueError, match=r"results\.json is not valid JSON \(line 2"):
        R.load_results(path)
    with pytest.raises(ValueError, match="not valid JSON"):
        R.record_results("03_x", {"a": 1.0}, 1.0, mode="full", path=path)


def test_json_that_is_not_an_object_is_an_error(path):
    path.parent.mkdir(parents=True)
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        R.load_results(path)


def test_headline_uses_the_design_keys_in_order():
    metrics = {"ar_mse": 0.02, "test_mse": 0.0123456, "extra": 5, "persistence_mse": 0.05}
    assert R.headline("03_sine_forecasting", metrics) == "test_mse=0.01235, persistence_mse=0.05, ar_mse=0.02"
    assert R.headline("01_lstm_cell_by_hand", {"h3_raw": 0.76, "max_abs_diff_torch": 5e-17}) == \
        "max_abs_diff_torch=5e-17"
    assert R.headline("09_text_classification", {"best_model": "tfidf_logreg"}) == "best_model=tfidf_logreg"


def test_every_lesson_has_headline_keys():
    assert [n for n, *_ in R.LESSONS] == sorted(R.HEADLINE)
    for number, stem, _title, _framework in R.LESSONS:
        assert stem.startswith(number + "_")


def test_results_table(path):
    R.record_results("03_sine_forecasting", {"test_mse": 0.5}, 10.0, mode="full", path=path)
    R.record_results("02_char_lstm_dickens", {"val_loss_nats": 1.5}, 20.0, mode="quick", path=path)
    table = R.results_table(R.load_results(path))
    assert list(table.columns) == ["notebook", "mode", "seconds", "headline"]
    assert table["notebook"].tolist() == ["02_char_lstm_dickens", "03_sine_forecasting"]
    assert table["mode"].tolist() == ["quick", "full"]
    assert table["headline"].tolist() == ["val_loss_nats=1.5", "test_mse=0.5"]
    assert R.results_table({}).empty


def test_format_seconds():
    assert R.format_seconds(42.4) == "42 s"
    assert R.format_seconds(200) == "3 min 20 s"
    assert R.format_seconds(3900) == "1 h 05 min"


README = """# Course

Intro text.

<!-- results:start -->
old table
<!-- results:end -->

## After
Text after the table.
"""


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "notebooks").mkdir()
    for stem in ("02_char_lstm_dickens", "03_sine_forecasting", "04_cnn_next_word"):
        (tmp_path / "notebooks" / f"{stem}.ipynb").write_text("{}")
    readme = tmp_path / "README.md"
    readme.write_text(README)
    results = tmp_path / "figures" / "results.json"
    R.record_results("03_sine_forecasting", {"test_mse": 0.0121, "ar_mse": 0.013}, 200.0, mode="full",
                     path=results)
    R.record_results("04_cnn_next_word", {"test_top1": 0.3}, 5.0, mode="quick", path=results)
    return readme, results


def test_update_readme_replaces_only_between_the_markers(repo):
    readme, results = repo
    assert R.update_readme(readme, results_file=results) is True
    text = readme.read_text()
    before, rest = text.split("<!-- results:start -->\n")
    table, after = rest.split("\n<!-- results:end -->")
    assert before == "# Course\n\nIntro text.\n\n"
    assert after == "\n\n## After\nText after the table.\n"
    rows = table.splitlines()
    assert rows[0] == "| # | lesson | framework | time (full mode) | headline result |"
    assert len(rows) == 2 + len(R.LESSONS)
    by_number = {row.split("|")[1].strip(): row for row in rows[2:]}
    assert by_number["01"] == "| 01 | LSTM cell by hand | NumPy | not yet built |  |"
    assert by_number["02"].startswith("| 02 | [Character-level LSTM on Dickens]"
                                      "(notebooks/02_char_lstm_dickens.ipynb)")
    assert "| not run |" in by_number["02"]
    assert by_number["03"] == ("| 03 | [Sine forecasting](notebooks/03_sine_forecasting.ipynb) | NumPy "
                               "| 3 min 20 s | test_mse=0.0121, ar_mse=0.013 |")
    # a quick result is not presented as the lesson's result
    assert "| not run |" in by_number["04"] and "0.3" not in by_number["04"]


def test_update_readme_is_idempotent(repo):
    readme, results = repo
    assert R.update_readme(readme, results_file=results) is True
    first = readme.read_text()
    assert R.update_readme(readme, results_file=results) is False
    assert readme.read_text() == first
    R.record_results("02_char_lstm_dickens", {"val_loss_nats": 1.4}, 60.0, mode="full", path=results)
    assert R.update_readme(readme, results_file=results) is True
    assert "val_loss_nats=1.4" in readme.read_text()


def test_update_readme_escapes_pipes(repo):
    readme, results = repo
    R.record_results("03_sine_forecasting", {"test_mse": 0.1}, 1.0, mode="full", path=results)
    R.record_results("09_text_classification", {"best_model": "a|b"}, 1.0, mode="full", path=results)
    (readme.parent / "notebooks" / "09_text_classification.ipynb").write_text("{}")
    R.update_readme(readme, results_file=results)
    assert "best_model=a\\|b" in readme.read_text()


def test_update_readme_without_markers_is_an_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="results:start"):
        R.update_readme(readme, results={})
    assert readme.read_text() == "# no markers\n"


def test_main_prints_the_table_without_touching_the_readme(path, capsys):
    R.record_results("03_sine_forecasting", {"test_mse": 0.5}, 10.0, mode="full", path=path)
    capsys.readouterr()
    assert R.main(["--no-readme", "--path", str(path)]) == 0
    out = capsys.readouterr().out
    assert "03_sine_forecasting" in out and "test_mse=0.5" in out
