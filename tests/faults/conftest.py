"""The fault suite (issue 17): the real processes on free ports, a claimant on the widget, and a
process killed or stopped while they talk. Each test adds a row to the table printed at the end
of the run (`make faults`); see table.py."""
from __future__ import annotations

from typing import Any

from faults.table import ROWS, table


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if ROWS:
        terminalreporter.write_sep("=", "faults")
        terminalreporter.write_line(table(ROWS))
