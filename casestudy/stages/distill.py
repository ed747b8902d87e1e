"""Notebook 02's stage: train the students on the harvest, evaluate them, judge them against the target.

Students: `sft` (the watermarked completions), `topk` (the same with the teacher's top-k
logprobs), `control` (the control deployment's completions), `baseline` (untrained), and
`sft-<size>` for each extra size of the sweep. The verdict (`verdict`) compares the best
distilled student with the teacher on the gold families; the profile sets the target ratio.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from casestudy.distiller.collect.dataset import read_records, read_topk
from casestudy.distiller.students import bench
from casestudy.distiller.students.evaluate import evaluate_saved, gold_rows, grade_completions
from casestudy.distiller.students.grading import chance_level
from casestudy.distiller.students.packing import encode_records
from casestudy.distiller.students.student import student_config
from casestudy.distiller.students.train import TrainConfig, TrainResult, train_student
from casestudy.targets import Target

STUDENTS = ("sft", "topk", "control", "baseline")
DISTILLED = ("sft", "topk")   # trained on the provider's watermarked outputs
FINGERPRINT_PARAMS = ("teacher", "student_size", "size_sweep", "max_steps", "batch_size", "grad_accum", "max_len",
                      "lr", "warmup_steps", "topk_alpha", "eval_every", "max_new_tokens", "seed")


@dataclass
class Harvest:
    """What notebook 01 collected, split for training and evaluation."""
    main: list[dict]
    control: list[dict]
    topk: dict
    main_train: list[dict] = field(init=False)
    control_train: list[dict] = field(init=False)
    heldout: list[dict] = field(init=False)
    gold: list[dict] = field(init=False)

    def __post_init__(self) -> None:
        split = lambda recs, s: [r for r in recs if r["split"] == s]
        self.main_train, self.control_train = split(self.main, "train"), split(self.control, "train")
        self.heldout, self.gold = split(self.main, "eval"), gold_rows(self.main)

    @classmethod
    def read(cls, collect: Path) -> "Harvest":
        return cls(read_records(collect / "main"), read_records(collect / "control"), read_topk(collect / "main"))

    def table(self) -> pd.DataFrame:
        """Records and completion tokens per arm, split and family."""
        return pd.DataFrame([{"arm": arm, "split": s, "family": fam, "records": len(g),
                              "completion tokens": int(sum(r["completion_tokens"] for r in g.to_dict("records")))}
                             for arm, recs in (("main", self.main), ("control", self.control))
                             for (s, fam), g in pd.DataFrame(recs).groupby(["split", "family"])])

    def input_files(self, collect: Path) -> list[Path]:
        """The files the stage's outputs depend on (for its fingerprint)."""
        files = [collect / arm / f for arm in ("main", "control") for f in ("records.jsonl", "topk.bin")]
        return [p for p in files if p.is_file()]


def packing_benchmark(tokenizer, records: Sequence[dict], size: str, max_len: int, batch_size: int, steps: int,
                      device: str) -> pd.DataFrame:
    """Padded against packed training steps on the same examples (repeated to fill the timed steps)."""
    examples = encode_records(tokenizer, records, None, max_len)
    reps = -(-(steps + 2) * batch_size * 8 // max(len(examples), 1))
    return pd.DataFrame(bench.compare(examples * reps, tokenizer, student_config(size), max_len=max_len,
                                      batch_size=batch_size, steps=steps, device=device))


def plans(data: Harvest, recipe: TrainConfig, size: str, topk_alpha: float, size_sweep: Sequence[str]) -> dict:
    """name -> (records, top-k or None, recipe, size, kind) for every student."""
    out = {
        "sft": (data.main_train, None, recipe, size, "sft"),
        "topk": (data.main_train, data.topk, replace(recipe, alpha=topk_alpha), size, "topk"),
        "control": (data.control_train, None, recipe, size, "control"),
        "baseline": (data.main_train, None, replace(recipe, max_steps=0), size, "baseline"),
    }
    for extra in size_sweep:
        if extra != size:
            out[f"sft-{extra}"] = (data.main_train, None, recipe, extra, "sft")
    return out


def train_all(student_plans: dict, students_dir: Path, tokenizer, heldout: list[dict]) -> dict[str, TrainResult]:
    """Train (or reuse) every planned student."""
    return {name: train_student(recs, tk, size, cfg, students_dir / name, tokenizer=tokenizer, eval_records=heldout,
                                name=name, kind=kind)
            for name, (recs, tk, cfg, size, kind) in student_plans.items()}


def train_table(results: dict[str, TrainResult]) -> pd.DataFrame:
    table = pd.DataFrame([{**r.summary(), "params": f"{r.params / 1e6:.1f}M"} for r in results.values()])
    return table[["name", "kind", "params", "steps", "train_tokens", "target_tokens", "wall_seconds",
                  "tokens_per_second", "reused"]].round(1)


def curves(results: dict[str, TrainResult]) -> pd.DataFrame:
    return pd.DataFrame([{**h, "student": n} for n, r in results.items() for h in r.history])


def evaluate_all(results: dict[str, TrainResult], data: Harvest, students_dir: Path, teacher, cache: Path,
                 max_new_tokens: int, device: str) -> tuple[dict[str, dict], list[dict]]:
    """Each saved student's evaluation, and every graded answer (the teacher's collected ones first)."""
    evals = {name: evaluate_saved(name, students_dir / name, data.gold, data.heldout, teacher, cache, max_new_tokens,
                                  device) for name in results}
    teacher_graded = grade_completions("teacher", data.gold, [r["completion"] for r in data.gold])
    return evals, teacher_graded + [g for e in evals.values() for g in e["graded"]]


def accuracy_by_family(acc: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    return acc.pivot_table(index="model", columns="family", values="accuracy", sort=False).reindex(order).round(2)


def quality_table(results: dict[str, TrainResult], evals: dict[str, dict]) -> pd.DataFrame:
    return pd.DataFrame([{"student": n, "kind": results[n].kind, "params": results[n].params,
                          "train_tokens": results[n].train_tokens, "accuracy": evals[n]["accuracy"],
                          "heldout_ce": evals[n]["heldout_ce"], "teacher_loglik": evals[n]["teacher_loglik"]}
                         for n in results])


def topk_text(facts: dict, results: dict[str, TrainResult]) -> str:
    """What the logprobs gave: the teacher's top-k entropy and mass, and sft against topk at equal tokens."""
    at_end = {n: results[n].history[-1].get("eval_ce", float("nan")) for n in ("sft", "topk")}
    return (f"Over the {facts['positions']:,} training positions the teacher's top-k distribution has a mean entropy of "
            f"**{facts['mean_entropy_nats']:.2f} nats**; the top 20 tokens hold **{facts['mean_topk_mass']:.1%}** of the "
            f"probability on average, and the sampled token was not the teacher's first choice at "
            f"**{facts['sampled_not_top1']:.1%}** of positions (plain SFT learns those as if they were the answer). "
            f"After the same {results['sft'].train_tokens:,} training tokens the held-out CE is "
            f"**{at_end['sft']:.3f}** for `sft` and **{at_end['topk']:.3f}** for `topk` nats per token "
            f"({'lower' if at_end['topk'] < at_end['sft'] else 'not lower'} with logprobs).")


def samples_table(graded: list[dict], gold: list[dict], order: list[str], per_family: int = 3) -> pd.DataFrame:
    """A few held-out gold prompts with every model's answer."""
    by_model = pd.DataFrame(graded).pivot_table(index="prompt_id", columns="model", values="completion", aggfunc="first")
    samples = pd.DataFrame(gold).set_index("prompt_id")[["family", "gold"]].join(by_model[order])
    samples["prompt"] = [r["messages"][-1]["content"][:80] for r in gold]
    return samples.groupby("family").head(per_family)[["prompt", "gold", *order]]


@dataclass
class Verdict:
    """The best distilled student against the teacher, in words and as targets."""
    ratios: pd.DataFrame                 # student accuracy / teacher accuracy, per gold family
    texts: list[str]                     # Markdown paragraphs for the notebook
    targets: list[Target]


def accuracy_ratios(fam_acc: pd.DataFrame) -> pd.DataFrame:
    """Each student's accuracy as a fraction of the teacher's, on every family the teacher gets some right."""
    families = [f for f in fam_acc.columns if f != "all"]
    return pd.DataFrame({f: fam_acc.loc[list(STUDENTS), f] / fam_acc.loc["teacher", f]
                         for f in families if fam_acc.loc["teacher", f] > 0})


def verdict(acc: pd.DataFrame, closed: pd.DataFrame, target: float | None, profile: str) -> Verdict:
    """Judge the best distilled student (sft or topk) on its best gold family.

    `target` is the profile's accuracy ratio to reach (None: no target, as in smoke). The
    target is met in substance only when the ratio reaches it, the student's interval is
    above chance, the baseline's is not, and on a closed family its balanced accuracy beats
    any constant answer.
    """
    fam_acc = acc.pivot_table(index="model", columns="family", values="accuracy")
    ratios = accuracy_ratios(fam_acc)
    best = ratios.loc[list(DISTILLED)].stack() if len(ratios.columns) else pd.Series(dtype=float)
    if not len(best):
        return Verdict(ratios, ["No gold family the teacher answers: nothing to compare."], [])
    (who, fam), value = best.idxmax(), best.max()
    chance = chance_level(fam)
    row = acc[(acc.model == who) & (acc.family == fam)].iloc[0]
    base = acc[(acc.model == "baseline") & (acc.family == fam)].iloc[0]
    above = row.ci_low > chance
    judged = lambda ok: None if target is None else bool(ok)   # no target: nothing is met or missed
    met = judged(target is not None and value >= target)
    said = (f"no target for profile `{profile}`" if target is None else
            f"target {target:.0%} **{'met' if met else 'missed'}**"
            + ("" if met else f" by {target - value:.0%} of the teacher's accuracy"))
    texts = [f"Best distilled student: `{who}` on **{fam}** with {fam_acc.loc[who, fam]:.0%} against the "
             f"teacher's {fam_acc.loc['teacher', fam]:.0%}, a ratio of **{value:.2f}**: {said}. "
             f"The baseline scores {fam_acc.loc['baseline', fam]:.0%} on that family "
             f"(chance for a guesser: {chance:.0%}). The student's 95% interval "
             f"[{row.ci_low:.0%}, {row.ci_high:.0%}] is **{'above' if above else 'not above'} chance**"
             + ("." if above else ": a student that always gives the same label also scores near chance, "
                "so this ratio alone does not show that it learned the task.")]
    checks = [
        Target(f"best distilled student reaches {target:.0%} of the teacher's accuracy" if target is not None
               else "best distilled student's accuracy ratio (no target)", f"`{who}` on {fam}: {value:.2f}", met),
        Target("its 95% interval above chance", f"[{row.ci_low:.0%}, {row.ci_high:.0%}], chance {chance:.0%}",
               judged(above)),
        Target("baseline near chance", f"{base.accuracy:.0%} [{base.ci_low:.0%}, {base.ci_high:.0%}]",
               judged(base.ci_low <= chance)),
    ]
    if fam in set(closed.family):
        mine = closed[(closed.model == who) & (closed.family == fam)].iloc[0]
        teacher_bal = closed[(closed.model == "teacher") & (closed.family == fam)].balanced_accuracy.iloc[0]
        learned = mine.balanced_accuracy > chance
        texts.append(f"On balanced accuracy `{who}` scores **{mine.balanced_accuracy:.0%}** (labels given: "
                     f"{mine.labels_given}) against the teacher's {teacher_bal:.0%}; any constant answer scores "
                     f"{chance:.0%}, and always giving the majority label would reach an accuracy of "
                     f"{mine.majority_rate:.0%}. "
                     + ("The student does more than guess." if learned else
                        "So the student has **not** learned the task"
                        + (": whatever the ratio above says, the target is not met in substance." if target else ".")))
        checks.append(Target("balanced accuracy above any constant answer",
                             f"{mine.balanced_accuracy:.0%} (labels given: {mine.labels_given})", judged(learned)))
    return Verdict(ratios, texts, checks)


def stage_metrics(device: str, wall: float, student_size: str, acc: pd.DataFrame, gold: list[dict],
                  heldout: list[dict], packing: pd.DataFrame, facts: dict, closed: pd.DataFrame,
                  results: dict[str, TrainResult], evals: dict[str, dict], checks: list[Target]) -> dict[str, Any]:
    """The metrics.json of the distill stage (names read by notebooks 03 and 04)."""
    fam_acc = acc.pivot_table(index="model", columns="family", values="accuracy")
    families = [f for f in fam_acc.columns if f != "all"]
    family_acc = lambda name: {f: float(fam_acc.loc[name, f]) for f in families}
    return {
        "device": device, "wall_seconds": wall, "student_size": student_size,
        "teacher_accuracy": float(fam_acc.loc["teacher", "all"]), "teacher_accuracy_by_family": family_acc("teacher"),
        "gold_eval_prompts": len(gold), "heldout_records": len(heldout),
        "packing": [{k: v for k, v in r.items() if pd.notna(v)} for r in packing.to_dict("records")], "topk_facts": facts,
        "closed_families": closed.to_dict("records"),
        "students": [{"name": n, "kind": r.kind, "params": r.params, "train_tokens": r.train_tokens,
                      "target_tokens": r.target_tokens, "steps": r.steps, "wall_seconds": r.wall_seconds,
                      "tokens_per_second": r.tokens_per_second, "accuracy": float(fam_acc.loc[n, "all"]),
                      "accuracy_by_family": family_acc(n), "heldout_ce": evals[n]["heldout_ce"],
                      "teacher_loglik": evals[n]["teacher_loglik"], "path": f"students/{n}"}
                     for n, r in results.items()],
        "targets": [t.as_dict() for t in checks],
    }


def headline(metrics: dict[str, Any], packing: pd.DataFrame) -> dict[str, str]:
    return {
        "teacher accuracy (held-out gold)": f"{metrics['teacher_accuracy']:.0%} of {metrics['gold_eval_prompts']}",
        **{f"{s['name']} accuracy": f"{s['accuracy']:.0%} ({s['params'] / 1e6:.1f}M params, {s['train_tokens']:,} tokens)"
           for s in metrics["students"]},
        "packed vs padded tokens/s": f"{packing.tokens_per_s.iloc[1] / packing.tokens_per_s.iloc[0]:.2f}x",
    }


def fingerprint_params(namespace: dict[str, Any]) -> dict[str, Any]:
    """The notebook parameters that the stage's outputs depend on."""
    return {k: namespace[k] for k in FINGERPRINT_PARAMS}

