"""Cleaning executed notebooks: progress bars, warnings, widgets and the machine's paths go; figures come out named."""

import base64

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from casestudy.report.clean import (clean_notebook, figure_functions, notebook_figures, path_replacements,
                                    quiet_stream, rewrite_paths)

TQDM_WALL = "".join(f"\r{p:3d}%|{'█' * (p // 10):<10}| {p}/100 [00:0{p // 50}<00:01, 95.89it/s]" for p in range(0, 101, 5))
WARNING = ("/tmp/ipykernel_9882/1731484235.py:6: UserWarning: hello warning\n"
           "  import warnings; warnings.warn('hello warning')\n")
SHARED = ("Removed shared tensor {'lm_head.weight'} while saving. This should be OK, but check by verifying "
          "that you don't receive any warning while reloading\n")


def test_progress_bars_warnings_and_library_noise_leave_stderr_but_real_text_stays():
    text = TQDM_WALL + "\n" + WARNING + SHARED + "a real message on stderr\n"
    assert quiet_stream(text, stderr=True) == "a real message on stderr\n"
    assert quiet_stream(TQDM_WALL + "\n", stderr=True) == ""
    # stdout keeps what a notebook printed, warnings-like text included; only bars go
    assert quiet_stream("trained 3 steps\n" + TQDM_WALL + "\nx.py:1: UserWarning: quoted\n", stderr=False) \
        == "trained 3 steps\nx.py:1: UserWarning: quoted\n"
    assert quiet_stream("post-training: 100%|██████████| 28/28 [04:06<00:00,  8.80s/it]\nok\n", stderr=False) == "ok\n"
    assert quiet_stream("throughput 64.0 tokens/s [measured]\n", stderr=False) == "throughput 64.0 tokens/s [measured]\n"


def test_paths_of_the_machine_become_run_relative():
    swap = {"/tmp/runs-smoke/smoke": "runs/smoke", "/work/main/": "", "/work/main": "."}
    assert rewrite_paths("run directory: /tmp/runs-smoke/smoke/collect", swap) == "run directory: runs/smoke/collect"
    assert rewrite_paths("notebook /work/main/notebooks/01_collect.ipynb", swap) == "notebook notebooks/01_collect.ipynb"
    assert rewrite_paths('File "/work/main/.venv/lib/python3.11/site-packages/torch/nn.py", line 3', swap) \
        == 'File ".venv/lib/python3.11/site-packages/torch/nn.py", line 3'
    assert rewrite_paths('File "/usr/lib/python3/dist-packages/x.py"', {}) == 'File "site-packages/x.py"'
    assert rewrite_paths("scratch at /tmp/tmpab12cd/server.sqlite, home /home/alice/x.txt.", {}) \
        == "scratch at …/server.sqlite, home …/x.txt."
    assert rewrite_paths("see https://example.org/tmp/page and runs/smoke/collect", {}) \
        == "see https://example.org/tmp/page and runs/smoke/collect"


def test_replacements_come_from_papermill_metadata_so_a_moved_run_is_rewritten_too(tmp_path):
    nb = new_notebook()
    nb.metadata["papermill"] = {"input_path": "/work/main/notebooks/01_collect.ipynb",
                                "output_path": "/tmp/runs-smoke/smoke/report/01_collect.ipynb",
                                "parameters": {"profile": "smoke"}}
    swap = path_replacements(nb, tmp_path / "copy")
    assert swap["/tmp/runs-smoke/smoke"] == "runs/smoke" and swap[str(tmp_path / "copy")] == "runs/smoke"
    assert swap["/work/main/"] == "" and swap["/work/main"] == "."


def png_output(data: bytes):
    return new_output("display_data", data={"image/png": base64.b64encode(data).decode(),
                                            "text/plain": "<Figure size 700x400 with 1 Axes>"})


def test_clean_notebook_drops_widgets_and_merges_streams():
    nb = new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    cell = new_code_cell("x = 1")
    cell.outputs = [
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "a"},
                                         "text/plain": "Loading weights:   0%|          | 0/272"}),
        new_output("stream", name="stderr", text="\r  0%|          | 0/5 [00:00<?, ?it/s]"),
        new_output("stream", name="stderr", text="\r100%|██████████| 5/5 [00:00<00:00, 93.65it/s]\n"),
        new_output("stream", name="stdout", text="done in /tmp/runs-x/smoke/detect\n"),
        new_output("stream", name="stdout", text="second line\n"),
    ]
    nb.cells = [cell]
    clean_notebook(nb, {"/tmp/runs-x/smoke": "runs/smoke"})
    assert "widgets" not in nb.metadata
    assert [(o.output_type, o.get("name"), o.get("text")) for o in nb.cells[0].outputs] == [
        ("stream", "stdout", "done in runs/smoke/detect\nsecond line\n")]


def test_figures_are_named_after_the_plot_call_that_drew_them():
    assert {"radioactivity", "dose", "identity_rates", "copied_vs_cost", "skill", "throughput_and_bill"} <= figure_functions()
    assert "records_frame" not in figure_functions() and "family_table" not in figure_functions()
    one = new_code_cell("table = plots.family_table(frame)\nplots.radioactivity(curves, alpha)\nplt.show()")
    one.outputs = [png_output(b"radio")]
    two = new_code_cell("plots.dose(dose, a, 1, 2)\nplt.show()\nplots.identity_rates(x, 3, 'K')\nplt.show()")
    two.outputs = [png_output(b"dose"), png_output(b"identity")]
    again = new_code_cell("plots.dose(other, a, 1, 2)")
    again.outputs = [png_output(b"dose again")]
    by_hand = new_code_cell("fig, ax = plt.subplots()\nax.plot([1, 2])")
    by_hand.outputs = [png_output(b"hand")]
    skipped = new_code_cell("if False:\n    plots.scaling(g, p, m)")
    nb = new_notebook(cells=[one, two, again, by_hand, skipped])
    nb = nbformat.from_dict(nb)
    assert notebook_figures(nb, "04_detect") == {
        "04_detect/radioactivity": b"radio", "04_detect/dose": b"dose", "04_detect/identity_rates": b"identity",
        "04_detect/dose-2": b"dose again", "04_detect/figure-1": b"hand"}
