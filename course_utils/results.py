"""The course's headline numbers, kept in one file: ``figures/results.json``.

Every notebook ends by recording what it measured::

    from course_utils.results import record_results
    record_results("03_sine_forecasting", {"test_mse": 0.012, "persistence_mse": 0.031}, seconds=42.0)

The file maps each notebook's file stem to one entry::

    {"03_sine_forecasting": {"mode": "full", "seconds": 42.0, "metrics": {"test_mse": 0.012, ...}}}

The README's lesson table is generated from it (:func:`update_readme`), so the README and the
reviewers read the same figures. Two rules keep the file honest:

* only plain, finite JSON values are stored (a NaN loss is an error, not a result);
* a ``quick`` run (CI, tests) never overwrites the entry of a ``full`` run.

Run ``python -m course_utils.results`` to print the table and refresh the README.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import mode as _mode
from .files import atomic_path, replace_between
from .paths import figures_dir, project_root

RESULTS_FILE = "results.json"

# The lessons, as in the course design: (number, notebook file stem, title, framework).
LESSONS = (
    ("01", "01_lstm_cell_by_hand", "LSTM cell by hand", "NumPy"),
    ("02", "02_char_lstm_dickens", "Character-level LSTM on Dickens", "NumPy"),
    ("03", "03_sine_forecasting", "Sine forecasting", "NumPy"),
    ("04", "04_cnn_next_word", "CNN next-word model", "NumPy"),
    ("05", "05_cnn_lstm_next_word", "CNN + LSTM next-word model", "NumPy"),
    ("06", "06_cnn_lstm_pytorch", "The hybrid in PyTorch", "PyTorch"),
    ("07a", "07a_pneumonia_cnn", "Pneumonia CNN", "PyTorch"),
    ("07b", "07b_pneumonia_robust", "Pneumonia CNN made robust", "PyTorch"),
    ("08", "08_emoji_lstm", "Emoji LSTM", "Keras 3 on PyTorch, FastAPI"),
    ("09", "09_text_classification", "Text classification", "Keras 3, PyTorch, scikit-learn"),
)

# The metric keys shown as a notebook's headline, by the notebook's number: its stem up to the first "_"
# ("03", or "07a" where one lesson has two notebooks).
# ``None`` would mean "every key the notebook recorded".
HEADLINE = {
    "01": ("max_abs_diff_torch", "max_gate_saturation_raw", "max_gate_saturation_scaled"),
    "02": ("test_loss_nats", "val_loss_nats", "unigram_test_loss_nats", "train_chars_per_second"),
    "03": ("test_mse", "persistence_mse", "moving_average_mse", "ar_mse", "noise_floor"),
    "04": ("test_top1", "test_perplexity", "bigram_test_perplexity", "best_ngram_test_top1",
           "best_ngram_test_perplexity", "context_length", "kernel_size", "seconds_per_epoch"),
    "05": ("test_top1", "test_perplexity", "bigram_test_perplexity", "best_ngram_test_top1",
           "best_ngram_test_perplexity", "seconds_per_epoch"),
    "06": ("parity_max_abs_diff", "test_top1", "test_perplexity", "seconds_per_epoch"),
    "07a": ("test_auc", "test_accuracy", "test_precision", "test_recall", "test_specificity", "test_f1",
            "baseline_test_auc"),
    "07b": ("test_auc", "test_accuracy", "test_recall", "test_specificity", "threshold", "n_networks",
            "baseline_test_auc"),
    "08": ("test_accuracy", "lstm_test_accuracy", "baseline_test_accuracy", "outside_test_accuracy",
           "lstm_outside_test_accuracy", "baseline_outside_test_accuracy", "batch_requests_per_second"),
    "09": ("best_model", "best_test_accuracy", "lstm_test_accuracy", "hybrid_test_accuracy",
           "best_classical_test_accuracy"),
}

README_START = "<!-- results:start -->"
README_END = "<!-- results:end -->"


def results_path(path: str | os.PathLike | None = None) -> Path:
    """The results file: ``path`` if given, else ``figures/results.json`` in the project."""
    return Path(path) if path is not None else figures_dir() / RESULTS_FILE


# --------------------------------------------------------------------------- reading and writing


def load_results(path: str | os.PathLike | None = None) -> dict:
    """Read the results file; an empty dict if it does not exist yet.

    A file that is not valid JSON (say, a merge conflict left in it) raises a ``ValueError``
    that names the file and the place of the error, instead of silently starting afresh.
    """
    path = results_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); "
            "fix it, or delete it and run the notebooks again"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(  # noqa: TRY004 (the course raises ValueError for all bad input)
            f"{path} should hold a JSON object (notebook -> entry), got {type(data).__name__}"
        )
    return data


def _plain(value, name: str):
    """Return ``value`` as plain JSON data (NumPy scalars and arrays converted); check it on the way.

    ``name`` says where the value sits (``metrics['test_mse']``) for the error message.
    """
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} is {value}: only finite numbers can be recorded")
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{name}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, v in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{name} has a non-string key {key!r}: JSON keys are strings")  # noqa: TRY004
            out[key] = _plain(v, f"{name}[{key!r}]")
        return out
    raise ValueError(
        f"{name} is a {type(value).__name__} ({value!r}), which is not a JSON value: "
        "record numbers, strings, booleans, or lists and dicts of them"
    )


def _show(path: Path) -> str:
    """``path`` relative to the project root when it lies inside it (no local paths in notebook outputs)."""
    try:
        return str(path.resolve().relative_to(project_root()))
    except ValueError:
        return str(path)


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` so that a reader (or a crash half-way) never sees a half-written file."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` while reading, changing and writing ``path``.

    Two notebooks that record at the same moment would otherwise both read the old file and the
    second write would drop the first one's entry. Where ``fcntl`` does not exist (Windows), no lock:
    notebooks there run one at a time.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def record_results(
    notebook: str,
    metrics: dict,
    seconds: float,
    mode: str | None = None,
    path: str | os.PathLike | None = None,
) -> dict:
    """Record a notebook's headline numbers in the results file and return its entry.

    Args:
        notebook: the notebook's file stem, e.g. ``"03_sine_forecasting"`` (a ``.ipynb`` name or
            path is accepted too).
        metrics: ``{name: value}``; values are numbers, strings, booleans, or lists/dicts of them.
            NumPy scalars and arrays become plain Python. NaN, infinity and anything that is not
            JSON raise a ``ValueError`` that names the key.
        seconds: how long the notebook took to run.
        mode: ``"full"`` or ``"quick"``; by default the current run mode (``$COURSE_MODE``).
        path: the results file; by default ``figures/results.json``.

    A quick run never replaces a full run's entry: it then writes nothing, prints a line
    saying so, and still returns the (unsaved) entry of this run. The file is written
    atomically with sorted keys and an indent of 2, so that its diffs stay small.
    """
    stem = Path(str(notebook)).name.removesuffix(".ipynb")
    if not stem:
        raise ValueError("notebook must be a notebook file stem such as '03_sine_forecasting', "
                         f"got {notebook!r}")
    mode = _mode.run_mode() if mode is None else mode
    if mode not in _mode.MODES:
        raise ValueError(f"mode must be one of {_mode.MODES}, got {mode!r}")
    if not isinstance(metrics, dict):
        raise ValueError(f"metrics must be a dict of name -> value, got {type(metrics).__name__}")  # noqa: TRY004
    seconds = _plain(seconds, "seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise ValueError(f"seconds must be a non-negative number, got {seconds!r}")

    entry = {"mode": mode, "seconds": float(seconds), "metrics": _plain(metrics, "metrics")}

    path = results_path(path)
    with _locked(path):   # notebooks run side by side (make course) must not lose each other's entries
        results = load_results(path)
        old = results.get(stem)
        if mode == "quick" and isinstance(old, dict) and old.get("mode") == "full":
            print(f"results: kept the full-mode entry of {stem} in {_show(path)}; "
                  "this quick run was not recorded")
            return entry
        results[stem] = entry
        text = json.dumps(results, indent=2, sort_keys=True, allow_nan=False) + "\n"
        _write_atomically(path, text)
    print(f"results: recorded {stem} ({mode} mode, {seconds:.1f} s) in {_show(path)}")
    return entry


# --------------------------------------------------------------------------- tables


def _format_value(value) -> str:
    """A short text for one metric value: 4 significant digits for floats."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def headline(notebook: str, metrics: dict) -> str:
    """The notebook's headline metrics as one short string, e.g. ``"test_mse=0.0121, ar_mse=0.013"``.

    The keys come from :data:`HEADLINE` by the notebook's number (its stem up to the first ``_``);
    keys the notebook did not record are left out. A notebook mapped to ``None`` shows every key it
    recorded.
    """
    keys = HEADLINE.get(str(notebook).split("_", 1)[0])
    if keys is None:
        keys = list(metrics)
    return ", ".join(f"{k}={_format_value(metrics[k])}" for k in keys if k in metrics)


def results_table(results: dict | None = None):
    """A ``pandas.DataFrame`` with one row per recorded notebook.

    Columns: ``notebook``, ``mode``, ``seconds``, ``headline``. ``results`` defaults to the
    contents of ``figures/results.json``.
    """
    import pandas as pd

    results = load_results() if results is None else results
    rows = [
        {
            "notebook": stem,
            "mode": entry.get("mode"),
            "seconds": entry.get("seconds"),
            "headline": headline(stem, entry.get("metrics") or {}),
        }
        for stem, entry in sorted(results.items())
    ]
    return pd.DataFrame(rows, columns=["notebook", "mode", "seconds", "headline"])


def format_seconds(seconds: float) -> str:
    """``42 s``, ``3 min 20 s``, ``1 h 05 min``."""
    seconds = round(float(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def lesson_table(results: dict, notebooks_dir: Path) -> str:
    """The README's markdown table of lessons; only full-mode results are shown.

    A lesson whose notebook does not exist yet reads "not yet built"; one with no full-mode
    entry in the results reads "not run".
    """
    lines = [
        "| # | lesson | framework | time (full mode) | headline result |",
        "|---|---|---|---|---|",
    ]
    for number, stem, title, framework in LESSONS:
        entry = results.get(stem)
        if not (notebooks_dir / f"{stem}.ipynb").is_file():
            lesson, time, result = title, "not yet built", ""
        elif not isinstance(entry, dict) or entry.get("mode") != "full":
            lesson, time, result = f"[{title}](notebooks/{stem}.ipynb)", "not run", ""
        else:
            lesson = f"[{title}](notebooks/{stem}.ipynb)"
            time = format_seconds(entry.get("seconds", 0))
            result = headline(stem, entry.get("metrics") or {})
        result = result.replace("|", "\\|")
        lines.append(f"| {number} | {lesson} | {framework} | {time} | {result} |")
    return "\n".join(lines)


def update_readme(
    readme_path: str | os.PathLike | None = None,
    results: dict | None = None,
    results_file: str | os.PathLike | None = None,
) -> bool:
    """Rewrite the lesson table in README.md between the results markers; True if the file changed.

    Only the text between ``<!-- results:start -->`` and ``<!-- results:end -->`` is replaced.
    ``results`` (or the file ``results_file``, by default ``figures/results.json``) supplies the
    numbers; notebooks are looked for in ``notebooks/`` beside the README.
    """
    readme = Path(readme_path) if readme_path is not None else project_root() / "README.md"
    if results is None:
        results = load_results(results_file)
    table = lesson_table(results, readme.parent / "notebooks")
    return replace_between(readme, README_START, README_END, table)


def main(argv: list[str] | None = None) -> int:
    """``python -m course_utils.results [--no-readme] [--path FILE]``."""
    parser = argparse.ArgumentParser(description="Print the recorded results and update the README table.")
    parser.add_argument("--no-readme", action="store_true", help="only print the table")
    parser.add_argument("--path", help="results file (default: figures/results.json)")
    args = parser.parse_args(argv)

    results = load_results(args.path)
    if results:
        print(results_table(results).to_string(index=False))
    else:
        print(f"no results recorded yet in {results_path(args.path)}")
    if not args.no_readme:
        changed = update_readme(results=results)
        print("README.md table updated" if changed else "README.md table already up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
