"""Session-wide test settings, shared by the package tests and nbval's notebook runs.

Every pytest session gets its own run directory (CASESTUDY_RUNS), so the smoke pipeline
test starts from nothing; nbval, which runs after it in the same session, finds the
stages' fresh artifacts there. Kernels started by papermill or nbval inherit it.
"""

import os
import tempfile


def pytest_configure(config):
    if "CASESTUDY_RUNS" not in os.environ:
        os.environ["CASESTUDY_RUNS"] = tempfile.mkdtemp(prefix="casestudy-test-runs-")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
