"""Shared fixtures, and a report of the gradient-check errors at the end of the run."""

import numpy as np
import pytest

# name -> max relative error, filled by tests/test_gradients.py and printed in the summary.
GRADCHECK_REPORT: dict[str, float] = {}


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a test module's PyTorch (and Keras-on-PyTorch) code on one thread, then restore the setting.

    The models in the tests are small: a second thread saves little on an idle machine, and on a busy
    one (CI, a laptop doing other work) the threads wait for each other and a test can take 10 times
    longer. Use it with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_sessionfinish(session):
    # Under pytest-xdist (make test runs two workers) each worker fills its own GRADCHECK_REPORT:
    # hand it to the controller, which prints the summary.
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["gradcheck_report"] = dict(GRADCHECK_REPORT)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    GRADCHECK_REPORT.update(getattr(node, "workeroutput", {}).get("gradcheck_report", {}))


def pytest_terminal_summary(terminalreporter):
    if not GRADCHECK_REPORT:
        return
    terminalreporter.section("gradient checks (float64, centred differences, max relative error)")
    for name, err in sorted(GRADCHECK_REPORT.items()):
        terminalreporter.write_line(f"{name:<48} {err:.2e}")
    worst = max(GRADCHECK_REPORT, key=GRADCHECK_REPORT.get)
    terminalreporter.write_line(f"worst: {worst} at {GRADCHECK_REPORT[worst]:.2e} (threshold 1e-7)")
