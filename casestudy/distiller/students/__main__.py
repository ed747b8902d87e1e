"""`python -m casestudy.distiller.students ...` (or under `accelerate launch` / `torchrun`): train one student (see cli.py)."""

from casestudy.distiller.students.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
