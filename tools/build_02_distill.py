"""Writes notebooks/02_distill.ipynb (run from the repository root)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from nbbuild import build  # noqa: E402

cells = [
("md", r"""
# 02 · Distil: train students on the teacher's API outputs

The distiller now holds what notebook 01 bought from the provider's API: for every
prompt, the teacher's completion and, at every generated token, the teacher's 20 most
likely tokens with their logprobs. Here it trains **small students from scratch** on
that data, with the teacher's tokenizer (a tokenizer is public; weights are not):

| student | training data | objective |
|---|---|---|
| `sft` | the watermarked teacher's completions (arm `main`) | cross-entropy on completion tokens (sequence-level distillation) |
| `topk` | the same completions and their top-k logprobs | KL to the teacher's top-k distribution (+ an "other" bucket), mixed with cross-entropy |
| `control` | the control deployment's completions (arm `control`) | as `sft` |
| `baseline` | none: the same architecture, untrained | the floor of every evaluation |

Every student is then evaluated on the **held-out prompts** (split `eval`, never trained
on): how well it predicts the teacher's held-out completions, how plausible the teacher
finds the student's own answers, and how often it answers correctly where a gold answer
exists, beside the teacher itself.
"""),
("params", r"""
profile = "smoke"
seed = 0
device = "auto"
teacher = "embedded"       # the teacher behind the API (for the log-likelihood of student answers)
student_size = "5m"        # size of the sft/topk/control/baseline students: 5m, 15m, 30m or 60m
size_sweep = []            # extra sft students of these sizes, for quality against size
max_steps = 20             # optimizer steps per student
batch_size = 2             # packed rows per micro-batch
grad_accum = 1             # micro-batches per step
max_len = 256              # tokens per packed row
lr = 0.003                 # peak learning rate
warmup_steps = 5           # linear warm-up steps
topk_alpha = 0.5           # weight of the top-k KL in the topk student's loss
eval_every = 10            # steps between held-out cross-entropy points
max_new_tokens = 32        # tokens per student answer
bench_steps = 2            # timed steps per mode and round in the packing benchmark
"""),
("code", r"""
import time
import pandas as pd
import seaborn as sns
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from casestudy.artifacts import fingerprint, mark_fresh, write_metrics
from casestudy.device import pick_device
from casestudy.paths import run_dir, stage_dir
from casestudy.provider.teacher import load_teacher
from casestudy.distiller.dataset import read_records, read_topk
from casestudy.distiller import bench
from casestudy.distiller.evaluate import gold_rows, grade_completions
from casestudy.distiller.grading import accuracy_table, chance_level, closed_family_table
from casestudy.distiller.packing import encode_records
from casestudy.distiller.report import evaluate_saved, topk_facts
from casestudy.distiller.student import size_table, student_config
from casestudy.distiller.train import TrainConfig, train_student

started = time.perf_counter()
run = run_dir(profile)
collect = stage_dir(run, "collect")
out = stage_dir(run, "distill")
dev = pick_device(device)
teacher_lm = load_teacher(teacher, device=device)
tokenizer = teacher_lm.tokenizer
recipe = TrainConfig(max_steps=max_steps, batch_size=batch_size, grad_accum=grad_accum, max_len=max_len, lr=lr,
                     warmup_steps=warmup_steps, seed=seed, device=device, eval_every=eval_every)
sns.set_theme(style="whitegrid")
print(f"run {run}, device {dev.describe()}")
"""),
("md", r"""
## 1 · The collected data

Training uses the `train` split of each arm; the `eval` split is held out for every
measurement below.
"""),
("code", r"""
main = read_records(collect / "main")
control = read_records(collect / "control")
topk = read_topk(collect / "main")
split = lambda recs, s: [r for r in recs if r["split"] == s]
main_train, control_train, heldout = split(main, "train"), split(control, "train"), split(main, "eval")
gold = gold_rows(main)
pd.DataFrame([{"arm": arm, "split": s, "family": fam, "records": len(g),
               "completion tokens": int(sum(r["completion_tokens"] for r in g.to_dict("records")))}
              for arm, recs in (("main", main), ("control", control))
              for (s, fam), g in pd.DataFrame(recs).groupby(["split", "family"])])
"""),
("md", r"""
## 2 · The students

Small Llama configurations with the teacher's 49,152-token vocabulary. At these sizes the
embedding table is most of the model, so input and output embeddings are tied.
"""),
("code", r"""
sizes = pd.DataFrame(size_table(tokenizer))
sizes.assign(params=lambda d: (d.params / 1e6).round(1).astype(str) + "M",
             embedding_share=lambda d: (100 * d.embedding_share).round(0).astype(int).astype(str) + "%")
"""),
("md", r"""
### Packing against padding

Chat examples have very different lengths. Padding each batch to its longest example
wastes compute on pad tokens; **packing** concatenates whole examples into fixed-length
rows, with position ids restarting at each example so that no token attends across
examples. Both take full training steps on the same examples; the table counts only real
tokens.
"""),
("code", r"""
train_examples = encode_records(tokenizer, main_train, None, max_len)
reps = -(-(bench_steps + 2) * batch_size * 8 // max(len(train_examples), 1))  # enough rows for the timed steps
packing = pd.DataFrame(bench.compare(train_examples * reps, tokenizer, student_config(student_size),
                                     max_len=max_len, batch_size=batch_size, steps=bench_steps, device=device))
packing[["mode", "tokens_per_s", "padding_share", "steps", "device"]].round(2)
"""),
("md", r"""
## 3 · Training

Each student is trained with the same recipe (warm-up then cosine learning rate, AdamW,
packed rows; bf16 and fused AdamW on a GPU). A student whose data and recipe are unchanged
since the last run is reused from disk.
"""),
("code", r"""
students_dir = out / "students"
plans = {
    "sft": (main_train, None, recipe, student_size, "sft"),
    "topk": (main_train, topk, TrainConfig(**{**recipe.__dict__, "alpha": topk_alpha}), student_size, "topk"),
    "control": (control_train, None, recipe, student_size, "control"),
    "baseline": (main_train, None, TrainConfig(**{**recipe.__dict__, "max_steps": 0}), student_size, "baseline"),
}
for size in size_sweep:
    if size != student_size:
        plans[f"sft-{size}"] = (main_train, None, recipe, size, "sft")
results = {}
for name, (recs, tk, cfg, size, kind) in plans.items():
    results[name] = train_student(recs, tk, size, cfg, students_dir / name, tokenizer=tokenizer,
                                  eval_records=heldout, name=name, kind=kind)
train_table = pd.DataFrame([{**r.summary(), "params": f"{r.params / 1e6:.1f}M"} for r in results.values()])
train_table[["name", "kind", "params", "steps", "train_tokens", "target_tokens", "wall_seconds", "tokens_per_second", "reused"]].round(1)
"""),
("code", r"""
curves = pd.DataFrame([{**h, "student": n} for n, r in results.items() for h in r.history])
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
if "train_ce" in curves:
    sns.lineplot(curves.dropna(subset=["train_ce"]), x="train_tokens", y="train_ce", hue="student", ax=axes[0])
axes[0].set(title="training cross-entropy (completion tokens)", xlabel="training tokens", ylabel="nats / token")
sns.lineplot(curves.dropna(subset=["eval_ce"]), x="train_tokens", y="eval_ce", hue="student", marker="o", ax=axes[1])
axes[1].set(title="held-out cross-entropy on teacher completions", xlabel="training tokens", ylabel="nats / token")
plt.tight_layout()
"""),
("md", r"""
## 4 · Evaluation on held-out prompts

Each student is loaded from its saved folder, exactly as the provider would serve it, and
answers every held-out prompt that has a gold answer (greedy decoding). The teacher's
accuracy is that of its collected held-out completions. Intervals are 95% Wilson
intervals; with few prompts they are wide.
"""),
("code", r"""
evals = {name: evaluate_saved(name, students_dir / name, gold, heldout, teacher_lm, out / "eval",
                              max_new_tokens, device) for name in results}
teacher_graded = grade_completions("teacher", gold, [r["completion"] for r in gold])
graded = teacher_graded + [g for e in evals.values() for g in e["graded"]]
acc = accuracy_table(graded)
order = ["teacher", *results]
display(acc.pivot_table(index="model", columns="family", values="accuracy", sort=False).reindex(order).round(2))
plot = acc[acc.family != "all"]
g = sns.catplot(plot, x="accuracy", y="model", col="family", kind="point", linestyle="none", order=order, height=3, aspect=1.3)
for ax, fam in zip(g.axes.flat, g.col_names):
    sub = plot[plot.family == fam].set_index("model").reindex(order)
    ax.hlines(range(len(order)), sub.ci_low, sub.ci_high, color="gray")
    ax.axvline(chance_level(fam), ls="--", color="red", lw=1)
    ax.set_xlim(-0.02, 1.02)
g.fig.suptitle("accuracy on held-out gold prompts (95% Wilson intervals; dashed: chance)", y=1.05);
"""),
("code", r"""
quality = pd.DataFrame([{"student": n, "kind": results[n].kind, "params": results[n].params,
                         "train_tokens": results[n].train_tokens, "accuracy": evals[n]["accuracy"],
                         "heldout_ce": evals[n]["heldout_ce"], "teacher_loglik": evals[n]["teacher_loglik"]}
                        for n in results])
quality.round(3)
"""),
("md", r"""
The **held-out cross-entropy** is how well a student predicts the teacher's own held-out
answers (lower is closer to the teacher). The **teacher log-likelihood** is the reverse
view: the mean log-probability per token that the teacher gives to the student's greedy
answers (higher means the teacher would itself have said something like it). Repetitive
answers can score well on it once the repetition starts, so read it beside accuracy.

### Quality against size and training tokens
"""),
("code", r"""
sft_like = quality[quality.kind == "sft"]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
sns.scatterplot(sft_like, x="params", y="heldout_ce", hue="student", s=80, ax=axes[0])
axes[0].set(xscale="log", title="held-out CE against student size (sft)", xlabel="parameters", ylabel="nats / token")
per_tokens = curves.dropna(subset=["eval_ce"])
sns.lineplot(per_tokens[per_tokens.student.isin(["sft", "topk", "control"])], x="train_tokens", y="eval_ce",
             hue="student", marker="o", ax=axes[1])
axes[1].set(title="top-k against plain SFT at equal tokens", xlabel="training tokens", ylabel="held-out CE")
plt.tight_layout()
"""),
("md", r"""
### What the logprobs give the distiller

A sampled completion shows one token per position. The top-k logprobs show the teacher's
whole ranking of likely next tokens: how sure it was, and what it would also have said.
The `topk` student learns from that distribution directly (the mass outside the top 20 is
kept as one "other" bucket), so each position carries more signal than one sampled token.
"""),
("code", r"""
facts = topk_facts(topk, main_train)
at_end = {n: results[n].history[-1].get("eval_ce", float("nan")) for n in ("sft", "topk")}
display(Markdown(
    f"Over the {facts['positions']:,} training positions the teacher's top-k distribution has a mean entropy of "
    f"**{facts['mean_entropy_nats']:.2f} nats**; the top 20 tokens hold **{facts['mean_topk_mass']:.1%}** of the "
    f"probability on average, and the sampled token was not the teacher's first choice at "
    f"**{facts['sampled_not_top1']:.1%}** of positions (plain SFT learns those as if they were the answer). "
    f"After the same {results['sft'].train_tokens:,} training tokens the held-out CE is "
    f"**{at_end['sft']:.3f}** for `sft` and **{at_end['topk']:.3f}** for `topk` nats per token "
    f"({'lower' if at_end['topk'] < at_end['sft'] else 'not lower'} with logprobs)."))
"""),
("md", r"""
## 5 · Answers side by side
"""),
("code", r"""
by_model = pd.DataFrame(graded).pivot_table(index="prompt_id", columns="model", values="completion", aggfunc="first")
samples = pd.DataFrame(gold).set_index("prompt_id")[["family", "gold"]].join(by_model[order])
samples["prompt"] = [r["messages"][-1]["content"][:80] for r in gold]
with pd.option_context("display.max_colwidth", 60):
    display(samples.groupby("family").head(3)[["prompt", "gold", *order]])
"""),
("md", r"""
## 6 · Against the targets

The study's targets: on a 2-core CPU (`workshop`) the distilled student reaches at least
75% of the teacher's accuracy on at least one gold family while the baseline stays near
chance; on one GPU (`full`) at least 90%. The `smoke` profile only checks that everything
runs.

Accuracy on a closed family can flatter a model: one that always answers "positive" scores
the share of positive reviews among the gold answers. So the table below adds **balanced
accuracy** (the mean of the per-label recalls, 50% for any constant answer on two labels) and
the labels each model actually gave; a student has learned the task only when its balanced
accuracy is above 50%.
"""),
("code", r"""
closed = closed_family_table(graded)
closed.assign(balanced_accuracy=closed.balanced_accuracy.round(2), majority_rate=closed.majority_rate.round(2))
"""),
("code", r"""
target = {"workshop": 0.75, "full": 0.90}.get(profile)
fam_acc = acc.pivot_table(index="model", columns="family", values="accuracy")
families = [f for f in fam_acc.columns if f != "all"]
ratios = pd.DataFrame({f: fam_acc.loc[["sft", "topk", "control", "baseline"], f] / fam_acc.loc["teacher", f]
                       for f in families if fam_acc.loc["teacher", f] > 0})
display(ratios.round(2).rename_axis("student accuracy / teacher accuracy"))
best = ratios.loc[["sft", "topk"]].stack()
if len(best):
    (who, fam), value = best.idxmax(), best.max()
    verdict = (f"no target for profile `{profile}`" if target is None else
               f"target {target:.0%} **{'met' if value >= target else 'missed'}**"
               + ("" if value >= target else f" by {target - value:.0%} of the teacher's accuracy"))
    row = acc[(acc.model == who) & (acc.family == fam)].iloc[0]
    above = row.ci_low > chance_level(fam)
    display(Markdown(f"Best distilled student: `{who}` on **{fam}** with {fam_acc.loc[who, fam]:.0%} against the "
                     f"teacher's {fam_acc.loc['teacher', fam]:.0%}, a ratio of **{value:.2f}**: {verdict}. "
                     f"The baseline scores {fam_acc.loc['baseline', fam]:.0%} on that family "
                     f"(chance for a guesser: {chance_level(fam):.0%}). The student's 95% interval "
                     f"[{row.ci_low:.0%}, {row.ci_high:.0%}] is **{'above' if above else 'not above'} chance**"
                     + ("." if above else ": a student that always gives the same label also scores near chance, "
                        "so this ratio alone does not show that it learned the task.")))
    if fam in set(closed.family):
        mine = closed[(closed.model == who) & (closed.family == fam)].iloc[0]
        teacher_bal = closed[(closed.model == "teacher") & (closed.family == fam)].balanced_accuracy.iloc[0]
        learned = mine.balanced_accuracy > chance_level(fam)
        display(Markdown(f"On balanced accuracy `{who}` scores **{mine.balanced_accuracy:.0%}** (labels given: "
                         f"{mine.labels_given}) against the teacher's {teacher_bal:.0%}; any constant answer scores "
                         f"{chance_level(fam):.0%}, and always giving the majority label would reach an accuracy of "
                         f"{mine.majority_rate:.0%}. "
                         + ("The student does more than guess." if learned else
                            "So the student has **not** learned the task"
                            + (": whatever the ratio above says, the target is not met in substance." if target else "."))))
"""),
("code", r"""
wall = time.perf_counter() - started
family_acc = lambda name: {f: float(fam_acc.loc[name, f]) for f in families}
metrics = {
    "device": dev.describe(), "wall_seconds": wall, "student_size": student_size,
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
}
headline = {
    "teacher accuracy (held-out gold)": f"{metrics['teacher_accuracy']:.0%} of {len(gold)}",
    **{f"{n} accuracy": f"{s['accuracy']:.0%} ({s['params'] / 1e6:.1f}M params, {s['train_tokens']:,} tokens)"
       for n, s in ((s["name"], s) for s in metrics["students"])},
    "packed vs padded tokens/s": f"{packing.tokens_per_s.iloc[1] / packing.tokens_per_s.iloc[0]:.2f}x",
}
write_metrics(out, metrics, headline)
inputs = [collect / arm / f for arm in ("main", "control") for f in ("records.jsonl", "topk.bin")]
params = {k: globals()[k] for k in ("teacher", "student_size", "size_sweep", "max_steps", "batch_size", "grad_accum",
                                     "max_len", "lr", "warmup_steps", "topk_alpha", "eval_every", "max_new_tokens", "seed")}
mark_fresh(out, fingerprint(params, [p for p in inputs if p.is_file()]), params)
pd.Series(headline, name="headline").to_frame()
"""),
]
build(Path("notebooks/02_distill.ipynb"), cells)
