"""The notebook runner and the HTML report: `python -m casestudy.report --profile smoke`.

    runner      papermill, one notebook after another, stopping at the first failing cell
    html        executed notebooks to HTML, the index page with each stage's headline and targets
    notebooks   the notebooks' jupytext pairs: sync, the outputs nbval checks
"""
