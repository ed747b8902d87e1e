"""Command line: run a profile's notebooks with papermill and write the HTML report.

    python -m casestudy.report --profile smoke
    python -m casestudy.report --profile workshop --set 02_distill.max_steps=200
    python -m casestudy.report --profile smoke --only 03_cost
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from casestudy.paths import run_dir
from casestudy.profiles import ProfileError, get_profile, load_profiles
from casestudy.report.html import git_commit, run_info, write_report
from casestudy.report.runner import run_notebooks


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m casestudy.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="smoke", help=f"one of: {', '.join(load_profiles())}")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="[NOTEBOOK.]NAME=VALUE",
                        help="override one parameter (a TOML literal); repeatable")
    parser.add_argument("--only", action="append", metavar="NOTEBOOK",
                        help="run only this notebook (e.g. 03_cost); repeatable")
    parser.add_argument("--runs-dir", type=Path, help="parent folder of run directories (default: runs/)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.runs_dir:
        # The kernels papermill starts inherit this, so the notebooks write there too.
        os.environ["CASESTUDY_RUNS"] = str(args.runs_dir.resolve())
    try:
        profile = get_profile(args.profile)
        run = run_dir(profile.name)
        report_dir = run / "report"
        commit = git_commit()  # the code the notebooks run, before anyone commits during a long run
        result = run_notebooks(profile, report_dir, args.overrides, args.only)
    except (ProfileError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    index = write_report(result, run, report_dir, info=run_info(profile.name, commit))
    if result.failed:
        failed = result.failed
        print(f"\nFAILED: notebook {failed.name}, {failed.error}\n"
              f"partial executed notebook: {failed.output}\nreport: {index}", file=sys.stderr)
        return 1
    print(f"\nreport: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
