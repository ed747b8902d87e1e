"""The notebook runner and the HTML report: `python -m casestudy.report --profile smoke`."""
