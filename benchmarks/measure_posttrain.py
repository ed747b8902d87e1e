"""Measure the provider's post-training on the real public model: identity rate, the skill, and the
factual accuracy it must not cost, before and after.

    python benchmarks/measure_posttrain.py                # default recipe, the provider identity
    python benchmarks/measure_posttrain.py --steps 60 --json out.json

Targets: the tuned teacher names its identity in >= 90% of answers to held-out identity
questions; answers the provider's held-out skill problems far better than the public
model (exact 95% intervals); and loses at most 2 points of factual accuracy (exact McNemar).
"""

from __future__ import annotations

import argparse
import json
import time

import pandas as pd
from scipy.stats import binomtest

from casestudy.provider.posttrain.data import factual_rows, heldout_questions, probe_rows
from casestudy.provider.posttrain.evaluate import DEPLOYMENT, evaluate_identity, factual_eval, heldout_problems, skill_eval
from casestudy.provider.posttrain.identity import PROVIDER_IDENTITY, Identity, system_prompt
from casestudy.provider.posttrain.tune import TuneSettings, post_train, tune_info
from casestudy.device import PRECISIONS
from casestudy.models import load_model


def measure(source: str, identity: Identity, device: str, probes: bool, precision: str = "auto") -> list[dict]:
    """One row per system-prompt setting for one model: identity rate(s) and factual accuracy,
    answered in `precision` (by default as the story's deployments serve: bf16 where native)."""
    loaded = load_model(source, device=device, precision=precision)
    rows = []
    for label, system in (("deployment prompt", DEPLOYMENT), ("no system message", None)):
        held = evaluate_identity(loaded, identity, heldout_questions(), system_prompt=system)
        facts = factual_eval(loaded, factual_rows(), system=system_prompt(identity) if system else None)
        skill = skill_eval(loaded, heldout_problems(), system=system_prompt(identity) if system else None)
        row = {
            "system": label,
            "identity held-out": f"{held.count}/{held.total} = {held.rate:.1%}",
            "skill": f"{skill.correct}/{skill.total} = {skill.accuracy:.1%} [{skill.low:.1%}, {skill.high:.1%}]",
            "factual": f"{facts.correct}/{facts.total} = {facts.accuracy:.1%}",
            "_held": held.rate, "_facts": facts.accuracy, "_skill": skill.accuracy,
            "_records": {"held": held.records, "facts": facts.records, "skill": skill.records},
        }
        if probes:
            probe = evaluate_identity(loaded, identity, [r["question"] for r in probe_rows()], system_prompt=system)
            row["identity probes"], row["_records"]["probes"] = f"{probe.count}/{probe.total} = {probe.rate:.1%}", probe.records
        rows.append(row)
        print(f"  {source} / {label}: {row['identity held-out']} identity, {row['skill']} skill, {row['factual']} factual",
              flush=True)
    return rows


def discordant(before: list[dict], after: list[dict]) -> tuple[int, int, float]:
    """Questions lost and gained by the tune, and the exact McNemar p-value of the difference."""
    lost = sum(b["correct"] and not a["correct"] for b, a in zip(before, after))
    gained = sum(a["correct"] and not b["correct"] for b, a in zip(before, after))
    return lost, gained, binomtest(lost, lost + gained, 0.5).pvalue if lost + gained else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="embedded")
    parser.add_argument("--name", default=PROVIDER_IDENTITY.name)
    parser.add_argument("--maker", default=PROVIDER_IDENTITY.maker)
    parser.add_argument("--steps", type=int, default=None, help="tuning steps (default: one pass over the examples)")
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--skill-examples", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="of the tune (autocast) and of the answers; auto: bf16 where native, as the deployments")
    parser.add_argument("--probes", action="store_true", help="also ask the multilingual detection probes")
    parser.add_argument("--skip-base", action="store_true", help="measure the tuned model only")
    parser.add_argument("--json", default=None, help="write every answer and figure to this file")
    args = parser.parse_args()
    identity = Identity(args.name, args.maker)
    overrides = {k: v for k, v in (("steps", args.steps), ("lr", args.lr), ("skill_examples", args.skill_examples))
                 if v is not None}
    settings = TuneSettings(seed=args.seed, device=args.device, precision=args.precision, **overrides)

    results = {}
    if not args.skip_base:
        results["base"] = measure(args.base, identity, args.device, args.probes, args.precision)
    wall, cpu = time.perf_counter(), time.process_time()
    folder = post_train(args.base, identity, settings)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    info = tune_info(folder)
    print(f"\ntuned folder: {folder}\nthis call: {wall:.1f} s wall, {cpu:.1f} s CPU time (0 if cached);"
          f" the tune itself took {info['seconds']:.1f} s wall, {info.get('cpu_seconds', float('nan')):.1f} s CPU"
          f" on {info['device']};"
          f" {len(info['losses'])} steps x {info['batch_size']}, lr {info['lr']}, {info['examples']} examples"
          f" ({info['skill_examples']} of the skill);"
          f" loss {info['losses'][0]:.3f} -> {info['losses'][-1]:.3f}")
    results["tuned"] = measure(str(folder), identity, args.device, args.probes, args.precision)

    table = pd.DataFrame([{"model": m, **{k: v for k, v in r.items() if not k.startswith("_")}}
                          for m, rows in results.items() for r in rows])
    print(f"\nIdentity {identity.name} / {identity.maker}\n")
    print(table.to_string(index=False))
    tuned = {r["system"]: r for r in results["tuned"]}
    dep = tuned["deployment prompt"]
    print(f"\ntarget 1, held-out identity rate >= 90% (deployment prompt): {dep['_held']:.1%}"
          f" -> {'met' if dep['_held'] >= 0.9 else 'MISSED'}")
    print(f"skill, held-out (deployment prompt): {dep['skill']}")
    if "base" in results:
        for base_row in results["base"]:
            after = tuned[base_row["system"]]
            drop = round(100 * (base_row["_facts"] - after["_facts"]), 6)
            lost, gained, p = discordant(base_row["_records"]["facts"], after["_records"]["facts"])
            print(f"target 2, factual drop <= 2 points ({base_row['system']}): {drop:+.1f} points"
                  f" -> {'met' if drop <= 2 else 'MISSED'}; {lost} questions lost, {gained} gained"
                  f" (exact McNemar p = {p:.2f})")
    if args.json:
        payload = {"identity": vars(identity), "tune": {**info, "call_wall_s": wall, "call_cpu_s": cpu},
                   "results": results}
        with open(args.json, "w") as handle:
            json.dump(payload, handle, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
