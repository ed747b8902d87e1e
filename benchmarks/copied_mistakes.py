"""Copied mistakes on a run's models: does a suspect repeat the teacher's exact errors on fresh prompts?

    OMP_NUM_THREADS=1 python benchmarks/copied_mistakes.py --run runs/workshop --probes 1200
    python benchmarks/copied_mistakes.py --run runs/workshop --probes 40 --out /tmp/pilot   # timing

1. `--probes` fresh English sentences from Veltan's grammar (`casestudy.scenario.language`), none
   in data/skill/*.jsonl or the skill's prompts, each asked in one of the skill prompts' phrasings.
2. The teacher answers all of them as deployed (the run's saved main deployment: its post-trained
   model, system prompt and precision), greedy and unwatermarked. That is the provider's own model,
   so the screen costs no suspect queries.
3. Each suspect and honest model answers only the probes the teacher got wrong (its queries are
   those), served as a black box behind the provider's server (`scenario.investigator.ask_model`,
   temperature 0, answers cached under `--out`/answers/).
4. Per unit (whole answer, word position): items, copies, rate, Fisher's one-sided p against the
   honest competitor and against the skill-less honest models (control, public) pooled, the
   split-half calibration and the design effect, by probe and by the word the teacher got wrong
   (`lexical_groups`); and the same test with one item per such word (`<unit>-cluster` rows,
   `by_cluster`), for mistakes that repeat across probes. Written to `--out`/copied_mistakes.{json,csv}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")   # before torch: the server children inherit it

import torch  # noqa: E402

# This checkout's `casestudy`, not whichever one the environment has installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from casestudy.answers import veltan_words  # noqa: E402
from casestudy.detection import copied_mistakes as cm  # noqa: E402
from casestudy.models import embedded_model_dir, resolve_source  # noqa: E402
from casestudy.scenario.deployments import load_deployment  # noqa: E402
from casestudy.scenario.investigator import QuerySet, ask_model  # noqa: E402
from casestudy.stages.detect.mistakes import veltan_draw  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SUSPECTS = ("sft", "topk", "scratch-5m")
HONEST = ("competitor", "control", "public")
REFERENCE = "competitor"
SKILL_LESS = ("control", "public")


def model_dirs(run: Path, names) -> dict[str, Path]:
    """Notebook 02's students by name; "public" is the public model itself (the embedded SmolLM2)."""
    return {n: embedded_model_dir() if n == "public" else run / "distill" / "students" / n for n in names}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=ROOT / "runs" / "workshop")
    parser.add_argument("--probes", type=int, default=1200, help="fresh sentences the teacher translates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-tokens", type=int, default=64, help="a worked translation takes about 45")
    parser.add_argument("--models", nargs="+", default=[*SUSPECTS, *HONEST])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--splits", type=int, default=4000)
    parser.add_argument("--out", type=Path, default=None, help="default <run>/detect/copied_mistakes")
    parser.add_argument("--ask-all", action="store_true",
                        help="the suspects answer every probe, not only the teacher's wrong ones (timing, accuracy)")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    out = args.out or args.run / "detect" / "copied_mistakes"
    out.mkdir(parents=True, exist_ok=True)
    started, timings = time.perf_counter(), {}

    probes = cm.fresh_probes(args.probes, args.seed, veltan_draw, cm.skill_templates(cm.skill_prompts()),
                             cm.used_sentences())
    deployment = load_deployment(args.run / "collect", "main")
    t = time.perf_counter()
    teacher = ask_model("teacher", Path(resolve_source(deployment.model_source)),
                        {"copied-mistakes": QuerySet([p.messages for p in probes], args.max_tokens, 0.0)},
                        out, args.seed, args.device, deployment.system_prompt, deployment.precision)["copied-mistakes"]
    timings["teacher"] = {"queries": len(probes), "seconds": time.perf_counter() - t}
    items = cm.mistakes(probes, teacher)
    wrong = sorted({m.probe for m in items})
    print(f"teacher: {len(wrong)} of {len(probes)} fresh probes wrong "
          f"({sum(m.unit == 'word' for m in items)} wrong words in answers as long as the key), "
          f"{timings['teacher']['seconds']:.0f} s", flush=True)

    answers, asked, accuracy = {}, list(range(len(probes))) if args.ask_all else wrong, {}
    for name, path in model_dirs(args.run, args.models).items():
        t = time.perf_counter()
        got = ask_model(name, path, {"copied-mistakes": QuerySet([probes[i].messages for i in asked], args.max_tokens,
                                                                 0.0)}, out, args.seed, args.device)["copied-mistakes"]
        answers[name] = dict(zip(asked, got))
        timings[name] = {"queries": len(asked), "seconds": time.perf_counter() - t}
        accuracy[name] = sum(veltan_words(answers[name][i]) == probes[i].key.split() for i in asked) / len(asked)
        print(f"{name}: {len(asked)} queries, {timings[name]['seconds']:.0f} s, "
              f"right on {accuracy[name]:.1%} of them", flush=True)

    rows, calibration = [], []
    honest = [h for h in HONEST if h in answers]
    skill_less = [h for h in SKILL_LESS if h in answers]
    for unit in cm.UNITS:
        copies = {name: cm.copies(name, items, a, unit) for name, a in answers.items()}
        lexical = cm.lexical_groups(items, unit)
        if REFERENCE not in copies:
            raise SystemExit(f"the reference {REFERENCE!r} must be among --models")
        results = cm.compare(copies, REFERENCE, skill_less)
        clustered = {name: cm.by_cluster(c, lexical) for name, c in copies.items()}
        cluster_results = cm.compare(clustered, REFERENCE, skill_less)
        for r, rc in zip(results, cluster_results):
            right = sum(veltan_words(answers[r.model][i]) == probes[i].key.split() for i in wrong)
            rows.append({**asdict(r), "right_where_teacher_wrong": right,
                         "design_effect": cm.design_effect(copies[r.model]),
                         "design_effect_lexical": cm.design_effect(copies[r.model], groups=lexical),
                         "convicts": r.model not in honest and cm.convicts(results, r.model, honest)})
            rows.append({**asdict(rc), "right_where_teacher_wrong": float("nan"), "design_effect": float("nan"),
                         "design_effect_lexical": float("nan"),
                         "convicts": r.model not in honest and cm.convicts(cluster_results, r.model, honest)})
        for clusters, groups in (("probe", None), ("lexical", lexical)):
            calibration += [asdict(cm.split_half(c, args.splits, args.seed, groups=groups)) | {"clusters": clusters}
                            for c in copies.values()]

    summary = {
        "run": str(args.run), "probes": len(probes), "seed": args.seed, "max_tokens": args.max_tokens,
        "teacher": {"model_dir": str(deployment.model_source), "wrong_answers": len(wrong),
                    "wrong_words": sum(m.unit == "word" for m in items),
                    "accuracy": 1 - len(wrong) / len(probes)},
        "reference": REFERENCE, "skill_less": skill_less, "target_p": cm.TARGET_P, "alpha": cm.ALPHA,
        "asked": "every probe" if args.ask_all else "the teacher's wrong probes", "accuracy_on_asked": accuracy,
        "rows": rows, "split_half": calibration, "timings": timings,
        "machine": f"{os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}",
        "total_seconds": time.perf_counter() - started,
        "teacher_mistakes": [asdict(m) | {"english": probes[m.probe].english} for m in items],
    }
    (out / "copied_mistakes.json").write_text(json.dumps(summary, indent=1))
    cols = ["model", "unit", "items", "copied", "rate", "p_vs_reference", "p_vs_skill_less",
            "right_where_teacher_wrong", "design_effect", "design_effect_lexical", "convicts"]
    lines = [",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows]
    (out / "copied_mistakes.csv").write_text("\n".join(lines) + "\n")

    print(f"\n{len(probes)} fresh probes, teacher wrong on {len(wrong)}; p against '{REFERENCE}' "
          f"(one-sided Fisher), and against {'+'.join(skill_less)} pooled")
    print(f"{'model':<12}{'unit':<16}{'items':>6}{'copied':>7}{'rate':>7}{'p vs comp.':>12}{'p vs skill-less':>16}"
          f"{'deff':>6}{'lex':>6}  convicts")
    for r in rows:
        print(f"{r['model']:<12}{r['unit']:<16}{r['items']:>6}{r['copied']:>7}{r['rate']:>7.3f}"
              f"{r['p_vs_reference']:>12.3g}{r['p_vs_skill_less']:>16.3g}{r['design_effect']:>6.2f}"
              f"{r['design_effect_lexical']:>6.2f}  {r['convicts']}")
    print("\nsplit-half calibration: share of splits with p <= 0.01, items split one by one / clusters kept whole")
    for c in calibration:
        print(f"{c['model']:<12}{c['unit']:<8}{c['clusters']:<9}{c['item_share']:>8.4f}{c['cluster_share']:>8.4f}")
    print(f"\ntotal {summary['total_seconds']:.0f} s on {summary['machine']}; written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
