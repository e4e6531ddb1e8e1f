"""How fast are the NumPy layers next to PyTorch?
``python -m course_utils.bench [--runs R] [--repeats N] [--json PATH] [--readme]`` (``make bench``).

Each case times one forward *and* backward pass, on the CPU, in float32, in this one process:

- NumPy: ``y = layer.forward(x); dx = layer.backward(dy)``
- PyTorch: ``y = module(x); y.backward(dy)`` with ``x.requires_grad``, the same weights
  (``course_utils.interop.to_torch``), and every ``.grad`` set to ``None`` before each repeat
  (outside the timed region), just as the NumPy layers write fresh gradient arrays.

The cases: an LSTM returning every step (``nn.LSTM(batch_first=True)``), a small LSTM returning
only the last step (the sine-forecasting size; PyTorch's output is sliced ``[:, -1]``), one long
stream of characters (the shape a learner samples and trains lesson 02's model with), a Conv1D and
a Dense layer. Conv1D is channels-last here, ``(N, T, C)``, while ``nn.Conv1d`` wants ``(N, C, T)``:
the PyTorch timing includes the two ``permute`` calls, because they are part of using it channels-last.

Both libraries get the course's threads (``course_utils.hardware.set_threads``: ``$COURSE_THREADS``,
else half the CPUs), the setting every lesson runs with. Before timing,
each case checks once that the two computations agree (output, ``dx`` and parameter gradients,
to float32 tolerance), so the benchmark cannot time a wrong computation. Then the two libraries
take turns, three times: a short pause, a few warm-up calls, then timed calls. The table gives the
median of all ``repeats`` timed calls and their interquartile range (IQR, the middle half's spread).
A busy machine (see the load printed on top) makes every number slower and noisier, so the whole
benchmark runs ``runs`` times (3 by default): the summary gives each case's median ratio over the runs
and its spread (lowest and highest), and ``--json`` keeps every run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .files import replace_between
from .hardware import set_threads
from .interop import to_torch, torch_grads
from .layers import LSTM, Conv1D, Dense
from .paths import project_root

ROUNDS = 3    # each library runs this many blocks of calls per case, in turn
PAUSE = 0.2   # seconds of rest before each block (see run_case)
# The one-stream case's target: its median ratio (3 runs, 2.12-2.16) before the backward pass was rearranged
# (CHANGELOG.md, 2026-12-07), so that "met" means "no slower than before".
ONE_STREAM_TARGET = 2.14
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


@dataclass
class Case:
    """One benchmark: a NumPy layer, its input shape, how to call the torch module, the target ratio."""

    name: str
    input_shape: tuple[int, ...]
    make_layer: Callable[[np.random.Generator], object]
    torch_forward: Callable  # (module, x channels-last) -> y in the NumPy layer's layout
    target: float | None      # the ratio NumPy/PyTorch to stay under; None: report only


def _lstm_sequences(module, x):
    return module(x)[0]            # (N, T, H): every step's hidden state


def _lstm_last(module, x):
    return module(x)[0][:, -1]     # (N, H): the last step only


def _conv_channels_last(module, x):
    return module(x.permute(0, 2, 1)).permute(0, 2, 1)  # (N, T, C) -> (N, C, T) -> back


CASES = [
    Case("LSTM seq", (64, 25, 64), lambda r: LSTM(64, 128, rng=r), _lstm_sequences, 1.0),
    Case("LSTM last", (32, 10, 50), lambda r: LSTM(50, 50, return_sequences=False, rng=r), _lstm_last, 0.8),
    Case("LSTM one stream", (1, 100, 65), lambda r: LSTM(65, 128, rng=r), _lstm_sequences, ONE_STREAM_TARGET),
    Case("Conv1D k=3", (64, 20, 64), lambda r: Conv1D(64, 128, 3, rng=r), _conv_channels_last, 2.0),
    Case("Dense", (4096, 512), lambda r: Dense(512, 512, rng=r), lambda m, x: m(x), None),
]


def torch_step(case: Case, module, x: np.ndarray, dy: np.ndarray):
    """One PyTorch forward + backward; returns ``(y, dx)`` as tensors."""
    import torch
    xt = torch.from_numpy(x).requires_grad_()
    y = case.torch_forward(module, xt)
    y.backward(torch.from_numpy(dy))
    return y, xt.grad


def check_agreement(case: Case, layer, module, x: np.ndarray, dy: np.ndarray) -> None:
    """Raise ``AssertionError`` unless NumPy and PyTorch give the same ``y``, ``dx`` and gradients."""
    y = layer.forward(x)
    dx = layer.backward(dy)
    module.zero_grad(set_to_none=True)
    yt, dxt = torch_step(case, module, x, dy)
    pairs = [("y", y, yt.detach().numpy()), ("dx", dx, dxt.numpy())]
    pairs += [(f"grad {k}", layer.grads[k], g) for k, g in torch_grads(module, layer).items()]
    for what, ours, theirs in pairs:
        # float32 tolerance, scaled to the size of the values (gradients are sums over N*T terms).
        scale = max(1.0, float(np.abs(theirs).max()))
        np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4 * scale,
                                   err_msg=f"{case.name}: NumPy and PyTorch disagree on {what}")


def _time(fn: Callable[[], None], before: Callable[[], None], warmup: int, repeats: int) -> list[float]:
    """Milliseconds of ``repeats`` calls to ``fn`` after ``warmup`` untimed ones (GC paused, as timeit)."""
    times = []
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for k in range(warmup + repeats):
            before()
            t0 = time.perf_counter()
            fn()
            if k >= warmup:
                times.append((time.perf_counter() - t0) * 1e3)
    finally:
        if gc_was_on:
            gc.enable()
    return times


def _iqr(times) -> float:
    """Interquartile range: the width of the middle half of the times."""
    q75, q25 = np.percentile(times, [75, 25])
    return float(q75 - q25)


def run_case(case: Case, repeats: int, warmup: int, rounds: int = ROUNDS, pause: float = PAUSE,
             seed: int = 0) -> dict:
    """Check agreement, then time NumPy and PyTorch on one case; one row of the table."""
    rng = np.random.default_rng(seed)
    layer = case.make_layer(rng)
    module = to_torch(layer)
    x = rng.standard_normal(case.input_shape, dtype=np.float32)
    dy = rng.standard_normal(layer.forward(x).shape, dtype=np.float32)
    check_agreement(case, layer, module, x, dy)

    def numpy_step():
        layer.forward(x)
        layer.backward(dy)

    # A few rounds of "NumPy block, then PyTorch block", so that both see the same background load.
    # Blocks, not alternate calls, and a pause before each block: after its work, each library's
    # threads keep spinning on the cores for a while (OpenBLAS's for about 0.1 s), and a library that
    # starts meanwhile runs up to 2-3x slower (measured on 2 cores). The pause lets them go to sleep.
    t_np, t_pt = [], []
    for n in np.array_split(np.arange(repeats), min(rounds, repeats)):
        time.sleep(pause)
        t_np += _time(numpy_step, lambda: None, warmup, len(n))
        time.sleep(pause)
        t_pt += _time(lambda: torch_step(case, module, x, dy), lambda: module.zero_grad(set_to_none=True),
                      warmup, len(n))
    med_np, med_pt = float(np.median(t_np)), float(np.median(t_pt))
    ratio = med_np / med_pt
    return {"case": case.name, "shape": f"{case.input_shape} -> {tuple(dy.shape)}",
            "numpy_ms": med_np, "numpy_iqr_ms": _iqr(t_np), "torch_ms": med_pt, "torch_iqr_ms": _iqr(t_pt),
            "ratio": ratio, "target": case.target,
            "met": None if case.target is None else bool(ratio <= case.target)}


def environment() -> dict:
    """Threads and BLAS of both libraries, as far as they say cheaply (no extra dependency)."""
    import torch
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        numpy_blas = f"{blas['name']} {blas['version']}"
    except (TypeError, KeyError):  # older NumPy: show_config has no dict mode
        numpy_blas = "unknown"
    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
           if k in os.environ}
    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None  # other work skews times
    return {"cpu_count": os.cpu_count(), "load_1min": load, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "numpy": np.__version__, "numpy_blas": numpy_blas,
            "thread_env": env}


def run(repeats: int = 45, warmup: int = 3, pause: float = PAUSE, cases=CASES) -> pd.DataFrame:
    """The whole benchmark as a DataFrame, one row per case."""
    return pd.DataFrame([run_case(c, repeats, warmup, pause=pause) for c in cases])


def summarize(runs: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per case over several runs: median times and ratio, and the ratio's lowest and highest."""
    both = pd.concat(runs, keys=range(len(runs)), names=["run"]).reset_index(level=0)
    table = (both.groupby("case", sort=False)
             .agg(shape=("shape", "first"), numpy_ms=("numpy_ms", "median"),
                  torch_ms=("torch_ms", "median"), ratio=("ratio", "median"),
                  ratio_min=("ratio", "min"), ratio_max=("ratio", "max"),
                  target=("target", "first"))
             .reset_index())
    table["met"] = [None if pd.isna(t) else bool(r <= t)
                    for r, t in zip(table["ratio"], table["target"])]
    return table


def readme_table(table: pd.DataFrame, env: dict, runs: int) -> str:
    """The summary as a Markdown table for README.md (between the bench markers)."""
    lines = [f"NumPy time / PyTorch time, forward + backward, float32, {env['torch_threads']} thread(s), "
             f"median of {runs} runs (lowest-highest); load {env['load_1min']} when it started.",
             "", "| case | shape | NumPy / PyTorch | target |", "|---|---|---|---|"]
    for row in table.itertuples():
        if pd.isna(row.target):
            target = "report only"
        else:
            target = f"<= {row.target:g}, " + ("met" if row.met else "MISSED")
        spread = f"{row.ratio:.2f} ({row.ratio_min:.2f}-{row.ratio_max:.2f})"
        lines.append(f"| {row.case} | {row.shape} | {spread} | {target} |")
    return "\n".join(lines)


def update_bench_table(text_table: str, readme: Path | None = None) -> bool:
    """Write the benchmark table between the bench markers of README.md; True if the file changed."""
    return replace_between(readme or project_root() / "README.md", README_START, README_END, text_table)


def main(argv=None) -> pd.DataFrame:
    # The docstring's first paragraph, on two lines: --help joins them into one
    parser = argparse.ArgumentParser(prog="python -m course_utils.bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="times the whole benchmark runs (default 3)")
    parser.add_argument("--repeats", type=int, default=45,
                        help="timed runs per case, library and run (default 45)")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny run (tests): 1 run, 3 repeats, no pauses")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the summary, every run and the environment")
    parser.add_argument("--readme", action="store_true", help="also write the summary into README.md")
    args = parser.parse_args(argv)
    runs, repeats, warmup, pause = (1, 3, 1, 0.0) if args.quick else (args.runs, args.repeats, 3, PAUSE)
    if repeats < 1 or runs < 1:
        parser.error("--runs and --repeats must be at least 1")

    set_threads()   # the lessons' thread policy, for both libraries
    env = environment()
    print(f"torch {env['torch']}: {env['torch_threads']} threads | numpy {env['numpy']}: {env['numpy_blas']} "
          f"| {env['cpu_count']} CPUs, load {env['load_1min']} "
          f"| {env['thread_env'] or 'no thread variables set'}")
    rounds = min(ROUNDS, repeats)
    print(f"forward + backward, float32: {runs} run(s); in each, the median of {repeats} timed calls in "
          f"{rounds} rounds of {warmup} warm-up + about {repeats // rounds} timed calls per library\n")
    tables = []
    for k in range(runs):
        tables.append(run(repeats, warmup, pause))
        with pd.option_context("display.float_format", "{:.2f}".format, "display.width", 200):
            print(f"run {k + 1} of {runs}:\n{tables[-1].to_string(index=False)}\n")
    table = summarize(tables)
    with pd.option_context("display.float_format", "{:.2f}".format, "display.width", 200):
        print(f"summary over {runs} run(s):\n{table.to_string(index=False)}")
    print("\nratio = numpy_ms / torch_ms (median over median); over the runs: median, lowest, highest; "
          "met: ratio <= target")
    if args.json:  # NaN (no target) becomes null
        def records(frame):
            return frame.astype(object).where(frame.notna(), None).to_dict("records")

        data = {"environment": env, "runs": runs, "repeats": repeats, "warmup": warmup, "pause_s": pause,
                "table": records(table), "every_run": [records(t) for t in tables]}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    if args.readme:
        changed = update_bench_table(readme_table(table, env, runs))
        print("README.md benchmark table " + ("updated" if changed else "already up to date"))
    return table


if __name__ == "__main__":
    main()
