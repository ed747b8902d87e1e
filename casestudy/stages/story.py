"""Notebook 00's few computations: the machine it runs on and what each profile runs."""

from __future__ import annotations

import pandas as pd

from casestudy.device import pick_device
from casestudy.models import embedded_gguf_path
from casestudy.paths import NOTEBOOKS_DIR
from casestudy.profiles import load_profiles


def machine_text() -> str:
    """The device this run computes on and the embedded teacher's file."""
    gguf = embedded_gguf_path()
    return (f"device for this run: {pick_device().describe()}\n"
            f"embedded teacher file: {gguf.name} ({gguf.stat().st_size / 1e6:.0f} MB)")


def profiles_table() -> pd.DataFrame:
    """What every profile of data/profiles.toml changes in each notebook (one column per profile)."""
    notebooks = [nb.stem for nb in sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))]
    profiles = load_profiles()
    rows = [{"profile": p.name, "notebook": nb,
             "parameters": ", ".join(f"{k}={v}" for k, v in p.notebooks.get(nb, {}).items())
             or "(the notebook's defaults)"}
            for p in profiles.values() for nb in notebooks]
    return pd.DataFrame(rows).pivot(index="notebook", columns="profile", values="parameters")[list(profiles)]
