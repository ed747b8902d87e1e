"""Notebook 01's tables and figures of the harvest, on records made in the test."""

import matplotlib
import numpy as np
import pandas as pd

from casestudy.distiller.collect import plots
from casestudy.distiller.collect.dataset import TopK

matplotlib.use("Agg")


def test_report_tables_on_synthetic_records():
    frame = pd.DataFrame({
        "id": [f"p{i}:0" for i in range(4)], "prompt_id": [f"p{i}" for i in range(4)], "sample": 0,
        "family": ["a", "a", "b", "b"], "split": ["train", "eval", "train", "train"], "prompt_tokens": 5,
        "completion_tokens": [10, 20, 30, 40], "finish_reason": ["stop", "length", "stop", "stop"],
        "latency_s": 1.0, "finished_at": [100.0, 101.0, 107.0, 112.0], "completion": "x", "prompt": "y",
    })
    table = plots.family_table(frame)
    assert table.loc["b", "completion_tokens"] == 70 and table.loc["a", "cut_at_max_tokens"] == 0.5
    speed = plots.throughput_frame(frame, bin_s=5.0)
    assert speed["cumulative_tokens"].iloc[-1] == 100 and speed["tokens_per_second"].iloc[0] == 6.0
    assert len(plots.example_table(frame, per_family=1)) == 2
    topk = TopK([1, 2], [-0.1, -0.2], [[1, 3], [2, 4]], np.log([[0.6, 0.3], [0.5, 0.4]]))
    assert np.allclose(plots.topk_mass({"x": topk}), [0.9, 0.9])


def test_figures_draw():
    frame = pd.DataFrame({"family": ["a", "b"], "completion_tokens": [10, 30]})
    table = frame.set_index("family")
    assert len(plots.families(frame, table, max_tokens=48).axes) == 2
    assert len(plots.topk_mass_histogram(pd.Series([0.9, 0.95]), 20).axes) == 1
    speed = pd.DataFrame({"seconds": [2.5, 7.5], "tokens_per_second": [3.0, 4.0]})
    bills = pd.DataFrame({"price point": ["x", "y"], "main": [0.01, 1.0]})
    assert len(plots.throughput_and_bill(speed, bills).axes) == 2
    matplotlib.pyplot.close("all")
