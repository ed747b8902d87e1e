"""`python -m casestudy.distiller.expand ...`: a short name for the prompt expansion command (collect/expand.py)."""

from casestudy.distiller.collect.expand import main

if __name__ == "__main__":
    raise SystemExit(main())
