"""Tests of course_utils.bench: the table's content and the correctness guard (no timing assertions)."""

import json

import numpy as np
import pandas as pd
import pytest

from course_utils import bench
from course_utils.interop import to_torch

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    table = bench.main(["--quick", "--json", str(path)])
    return table, json.loads(path.read_text())


def test_table_has_every_case_with_positive_times(quick_run):
    table, data = quick_run
    assert list(table["case"]) == [c.name for c in bench.CASES]
    for col in ("numpy_ms", "torch_ms"):
        assert (table[col] > 0).all() and np.isfinite(table[col]).all()
    assert (table["ratio_min"] <= table["ratio"]).all() and (table["ratio"] <= table["ratio_max"]).all()
    every_run = data["every_run"][0]
    assert all(row["numpy_iqr_ms"] >= 0 and row["torch_iqr_ms"] >= 0 for row in every_run)


def test_ratio_is_numpy_over_torch_and_met_follows_the_target(quick_run):
    table, data = quick_run
    run = data["every_run"][0]            # one run: its ratios are the summary's
    np.testing.assert_allclose([r["ratio"] for r in run], [r["numpy_ms"] / r["torch_ms"] for r in run],
                               rtol=1e-12)
    np.testing.assert_allclose(table["ratio"], [r["ratio"] for r in run], rtol=1e-12)
    for row in table.itertuples():
        case = next(c for c in bench.CASES if c.name == row.case)
        if case.target is None:
            assert row.met is None
        else:
            assert row.target == case.target and row.met == (row.ratio <= case.target)


def test_summary_takes_the_median_and_the_spread_over_runs():
    runs = [pd.DataFrame({"case": ["a", "b"], "shape": ["s", "t"], "numpy_ms": [1.0, 2.0],
                          "torch_ms": [1.0, 1.0], "ratio": [r, 2.0 * r], "target": [1.0, None]})
            for r in (0.5, 0.9, 1.4)]
    table = bench.summarize(runs)
    assert table["ratio"].tolist() == [0.9, 1.8]
    assert table["ratio_min"].tolist() == [0.5, 1.0] and table["ratio_max"].tolist() == [1.4, 2.8]
    assert table["met"].tolist() == [True, None]


def test_json_holds_the_same_table(quick_run):
    table, data = quick_run
    assert [r["case"] for r in data["table"]] == list(table["case"])
    assert data["table"][-1]["target"] is None  # Dense: report only, null rather than NaN
    assert data["environment"]["torch_threads"] == torch.get_num_threads()


def test_readme_table_is_written_between_the_markers(quick_run, tmp_path):
    table, data = quick_run
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{bench.README_START}\nold\n{bench.README_END}\nrest\n")
    text_table = bench.readme_table(table, data["environment"], runs=1)
    assert bench.update_bench_table(text_table, readme) and not bench.update_bench_table(text_table, readme)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "old" not in text
    assert all(f"| {case.name} |" in text for case in bench.CASES)
    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match="bench:start"):
        bench.update_bench_table(text_table, readme)


@pytest.mark.parametrize("case", bench.CASES, ids=lambda c: c.name)
def test_check_agreement_passes_on_copied_weights(case):
    rng = np.random.default_rng(0)
    layer = case.make_layer(rng)
    x = rng.standard_normal(case.input_shape, dtype=np.float32)
    dy = rng.standard_normal(layer.forward(x).shape, dtype=np.float32)
    bench.check_agreement(case, layer, to_torch(layer), x, dy)


@pytest.mark.parametrize("case", bench.CASES, ids=lambda c: c.name)
def test_check_agreement_fires_when_weights_differ(case):
    rng = np.random.default_rng(0)
    layer = case.make_layer(rng)
    other = to_torch(case.make_layer(np.random.default_rng(1)))  # same sizes, other weights
    x = rng.standard_normal(case.input_shape, dtype=np.float32)
    dy = rng.standard_normal(layer.forward(x).shape, dtype=np.float32)
    with pytest.raises(AssertionError, match="disagree"):
        bench.check_agreement(case, layer, other, x, dy)


def test_check_agreement_fires_on_a_wrong_gradient_alone():
    """Same outputs but a wrong backward: the guard compares gradients too, not only ``y``."""
    case = bench.CASES[-1]  # Dense
    rng = np.random.default_rng(0)
    layer = case.make_layer(rng)
    module = to_torch(layer)
    x = rng.standard_normal(case.input_shape, dtype=np.float32)
    dy = rng.standard_normal(layer.forward(x).shape, dtype=np.float32)
    right_backward = layer.backward
    layer.backward = lambda d: 2 * right_backward(d)
    with pytest.raises(AssertionError, match="disagree on dx"):
        bench.check_agreement(case, layer, module, x, dy)
