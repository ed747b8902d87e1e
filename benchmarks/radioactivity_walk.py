"""Why notebook 04's radioactivity curve goes up and down: each suspect's green share by split and
family, and the p-value's walk against the pairs scored, from a finished run's cached answers.

    python benchmarks/radioactivity_walk.py [--profile workshop]

Reads `runs/<profile>/detect/answers/<model>-watermark.json` (no model is run). For each suspect:
the share of distinct (context, token) pairs that are green, the z statistic the exact binomial test
rests on, and the distinct pairs that z = 4.75 (p = 1e-6) would need at the measured excess.
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pandas as pd

from casestudy.detection.radioactivity import binomial_p_value, distinct_pairs_by_query, prompt_text, token_ids
from casestudy.stages.detect.params import Params
from casestudy.stages.detect.queries import query_sets
from casestudy.stages.detect.workspace import open_workspace
from casestudy.distiller.collect.prompts import load_prompts

Z_TARGET = 4.75   # one-sided p = 1e-6


def per_query(where, conversations, answers: list[str]) -> pd.DataFrame:
    """One row per query: the distinct pairs it adds (in the test's order) and how many are green."""
    prompts = token_ids(where.tokenizer, [prompt_text(c) for c in conversations])
    pairs, counts = distinct_pairs_by_query(token_ids(where.tokenizer, answers), prompts, where.scorer.width)
    green = np.concatenate([[0], np.cumsum(where.scorer.verdicts(pairs))])
    ends = np.array(counts)
    starts = np.concatenate([[0], ends[:-1]])
    return pd.DataFrame({"pairs": ends - starts, "green": green[ends] - green[starts]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="workshop")
    args = parser.parse_args()
    params = Params.defaults(**_profile_values(args.profile))
    where = open_workspace(params)
    queries = query_sets(params, where.skill_family)
    by_text = {prompt_text(p.messages): p for p in load_prompts()}
    meta = pd.DataFrame([{"split": by_text[prompt_text(c)].split, "family": by_text[prompt_text(c)].family}
                         for c in queries.watermark.conversations])
    gamma = where.scorer.settings.greenlist_ratio
    sd = math.sqrt(gamma * (1 - gamma))
    summary, families, walks = [], [], []
    for path in sorted((where.out / "answers").glob("*-watermark.json")):
        model = path.name.removesuffix("-watermark.json")
        answers = json.loads(path.read_text())["answers"]
        rows = pd.concat([meta, per_query(where, queries.watermark.conversations, answers)], axis=1)
        n, g = int(rows.pairs.sum()), int(rows.green.sum())
        excess = g / n - gamma
        summary.append({"model": model, "pairs": n, "green": g, "share": g / n, "z": excess * math.sqrt(n) / sd,
                        "p": binomial_p_value(g, n, gamma),
                        "pairs_for_1e-6": (Z_TARGET * sd / excess) ** 2 if excess > 0 else math.inf,
                        "held_out_queries": int((rows.split == "eval").sum())})
        fam = rows.groupby("family")[["pairs", "green"]].sum()
        families.append((fam.green / fam.pairs).rename(model))
        cum = rows[["pairs", "green"]].cumsum()
        for q in (25, 50, 75, 100, 125, 150, 175, 200):
            if q <= len(rows):
                walks.append({"model": model, "queries": q,
                              "p": binomial_p_value(int(cum.green[q - 1]), int(cum.pairs[q - 1]), gamma)})
    pd.set_option("display.width", 200)
    print(pd.DataFrame(summary).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print("\ngreen share by family\n" + pd.concat(families, axis=1).round(3).to_string())
    print("\np after q queries\n" + pd.DataFrame(walks).pivot(index="queries", columns="model", values="p")
          .to_string(float_format=lambda v: f"{v:.1e}"))


def _profile_values(profile: str) -> dict:
    from casestudy.profiles import get_profile, notebook_defaults, notebook_parameters

    return notebook_parameters(get_profile(profile), Params.NOTEBOOK, notebook_defaults(Params.NOTEBOOK))


if __name__ == "__main__":
    main()
