"""The notebook runner and the HTML report: `python -m casestudy.report --profile smoke`.

    runner      papermill, one notebook after another, stopping at the first failing cell
    html        executed notebooks to HTML, the index page with each stage's headline and targets
    notebooks   the notebooks' jupytext pairs: sync, the outputs nbval checks
    clean       executed notebooks made readable: no progress walls or warnings, figures pulled out
    publish     a finished run into results/<profile>/, README's results section and docs/results.md (`make publish`)
    glance      the study's four questions (copied? what it cost? proven? against whom?) answered from a run
    spread      the run-to-run spread of the headline figures over seeds (`make spread`)
    check       is this laptop ready for the workshop? (`make check`)
    maps        the package maps (these docstrings) checked against the tree; docs/architecture.md's layout block
"""
