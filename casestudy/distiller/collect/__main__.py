"""`python -m casestudy.distiller.collect ...`: the collector's command line (see cli.py)."""

from casestudy.distiller.collect.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
