"""Does a suspect asked the same watermark queries twice give the same answers? (notebook 04's reproducibility)

    python benchmarks/suspect_repro.py [--profile workshop] [--student sft] [--precision fp32 auto]

Serves a finished run's student behind the API twice per precision (fresh answer caches under /tmp),
as notebook 04's investigator does, and prints the time of each ask and how many answers agree.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from casestudy.scenario.investigator import ask_model
from casestudy.stages.detect.params import Params
from casestudy.stages.detect.queries import query_sets
from casestudy.stages.detect.workspace import open_workspace
from casestudy.profiles import get_profile, notebook_defaults, notebook_parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="workshop")
    parser.add_argument("--student", default="sft")
    parser.add_argument("--precision", nargs="+", default=["fp32", "auto"])
    args = parser.parse_args()
    defaults = notebook_defaults(Params.NOTEBOOK)
    params = Params.from_values({**defaults, **notebook_parameters(get_profile(args.profile), Params.NOTEBOOK, defaults),
                                 "device": "cpu"})
    where = open_workspace(params)
    queries = {"watermark": query_sets(params, where.skill_family).watermark}
    for precision in args.precision:
        asks = []
        for attempt in range(2):
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as out:
                asks.append(ask_model(args.student, where.students[args.student], queries, Path(out), params.seed,
                                      params.device, precision=precision)["watermark"])
            print(f"{precision}: ask {attempt + 1} took {time.perf_counter() - start:.1f} s", flush=True)
        same = sum(a == b for a, b in zip(*asks))
        print(f"{precision}: {same} of {len(asks[0])} answers the same on the second ask")


if __name__ == "__main__":
    main()
