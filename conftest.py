"""Session-wide test settings, shared by the package tests and nbval's notebook runs.

Every pytest session gets its own run directory (CASESTUDY_RUNS), so the smoke pipeline
test starts from nothing; nbval, which runs after it in the same session, finds the
stages' fresh artifacts there. Kernels started by papermill or nbval inherit it.
"""

import os
import shutil
import tempfile

_made_here = None


def pytest_configure(config):
    global _made_here
    if "CASESTUDY_RUNS" not in os.environ:
        _made_here = os.environ["CASESTUDY_RUNS"] = tempfile.mkdtemp(prefix="casestudy-test-runs-")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_unconfigure(config):
    """Remove the session's run directory unless CASESTUDY_KEEP_TEST_RUNS is set."""
    if _made_here and not os.environ.get("CASESTUDY_KEEP_TEST_RUNS"):
        shutil.rmtree(_made_here, ignore_errors=True)
