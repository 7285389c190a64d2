"""Where a figure comes from: one line every benchmark prints before its figures."""

from __future__ import annotations

import os
import platform


def describe() -> str:
    """Cores, architecture, torch and Python versions, and the load when the run started."""
    import torch

    return (f"machine: {os.cpu_count()} cores ({platform.machine()}), torch {torch.__version__}, "
            f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the start")
