"""Shared fixtures, and a report of the gradient-check errors at the end of the run."""

import numpy as np
import pytest

# name -> max relative error, filled by tests/test_gradients.py and printed in the summary.
GRADCHECK_REPORT: dict[str, float] = {}


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_terminal_summary(terminalreporter):
    if not GRADCHECK_REPORT:
        return
    terminalreporter.section("gradient checks (float64, centred differences, max relative error)")
    for name, err in sorted(GRADCHECK_REPORT.items()):
        terminalreporter.write_line(f"{name:<48} {err:.2e}")
    worst = max(GRADCHECK_REPORT, key=GRADCHECK_REPORT.get)
    terminalreporter.write_line(f"worst: {worst} at {GRADCHECK_REPORT[worst]:.2e} (threshold 1e-7)")
