# %% [markdown]
# # 02 · Distil: train students on the teacher's API outputs
#
# The distiller now holds what notebook 01 bought from the provider's API: for every
# prompt, the teacher's completion and, at every generated token, the teacher's 20 most
# likely tokens with their logprobs. Here it trains **small students from scratch** on
# that data, with the teacher's tokenizer (a tokenizer is public; weights are not):
#
# | student | training data | objective |
# |---|---|---|
# | `sft` | the watermarked teacher's completions (arm `main`) | cross-entropy on completion tokens (sequence-level distillation) |
# | `topk` | the same completions and their top-k logprobs | KL to the teacher's top-k distribution (+ an "other" bucket), mixed with cross-entropy |
# | `control` | the control deployment's completions (arm `control`) | as `sft` |
# | `baseline` | none: the same architecture, untrained | the floor of every evaluation |
#
# Every student is then evaluated on the **held-out prompts** (split `eval`, never trained
# on): how well it predicts the teacher's held-out completions, how plausible the teacher
# finds the student's own answers, and how often it answers correctly where a gold answer
# exists, beside the teacher itself.

# %% tags=["parameters"]
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
target_ratio = None        # student/teacher accuracy to reach on a gold family (None: no target)

# %%
import time

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from casestudy.artifacts import fingerprint, mark_fresh, write_metrics
from casestudy.device import pick_device
from casestudy.distiller.students import plots
from casestudy.distiller.students.evaluate import topk_facts
from casestudy.distiller.students.grading import accuracy_table, closed_family_table
from casestudy.distiller.students.student import size_table
from casestudy.distiller.students.train import TrainConfig
from casestudy.models import load_model
from casestudy.paths import run_dir, stage_dir
from casestudy.stages import distill as stage
from casestudy.targets import table as targets_table

# %%
started = time.perf_counter()
run = run_dir(profile)
collect = stage_dir(run, "collect")
out = stage_dir(run, "distill")
dev = pick_device(device)
teacher_lm = load_model(teacher, device=device)
tokenizer = teacher_lm.tokenizer
recipe = TrainConfig(max_steps=max_steps, batch_size=batch_size, grad_accum=grad_accum, max_len=max_len, lr=lr,
                     warmup_steps=warmup_steps, seed=seed, device=device, eval_every=eval_every)
sns.set_theme(style="whitegrid")
print(f"run {run}, device {dev.describe()}")

# %% [markdown]
# ## 1 · The collected data
#
# Training uses the `train` split of each arm; the `eval` split is held out for every
# measurement below.

# %%
data = stage.Harvest.read(collect)
data.table()

# %% [markdown]
# ## 2 · The students
#
# Small Llama configurations with the teacher's 49,152-token vocabulary. At these sizes the
# embedding table is most of the model, so input and output embeddings are tied.

# %%
sizes = pd.DataFrame(size_table(tokenizer))
sizes.assign(params=lambda d: (d.params / 1e6).round(1).astype(str) + "M",
             embedding_share=lambda d: (100 * d.embedding_share).round(0).astype(int).astype(str) + "%")

# %% [markdown]
# ### Packing against padding
#
# Chat examples have very different lengths. Padding each batch to its longest example
# wastes compute on pad tokens; **packing** concatenates whole examples into fixed-length
# rows, with position ids restarting at each example so that no token attends across
# examples. Both take full training steps on the same examples; the table counts only real
# tokens.

# %%
packing = stage.packing_benchmark(tokenizer, data.main_train, student_size, max_len, batch_size, bench_steps, device)
packing[["mode", "tokens_per_s", "padding_share", "steps", "device"]].round(2)

# %% [markdown]
# ## 3 · Training
#
# Each student is trained with the same recipe (warm-up then cosine learning rate, AdamW,
# packed rows; bf16 and fused AdamW on a GPU). A student whose data and recipe are unchanged
# since the last run is reused from disk.

# %%
students_dir = out / "students"
plans = stage.plans(data, recipe, student_size, topk_alpha, size_sweep)
results = stage.train_all(plans, students_dir, tokenizer, data.heldout)
stage.train_table(results)

# %%
curves = stage.curves(results)
plots.training_curves(curves);

# %% [markdown]
# ## 4 · Evaluation on held-out prompts
#
# Each student is loaded from its saved folder, exactly as the provider would serve it, and
# answers every held-out prompt that has a gold answer (greedy decoding). The teacher's
# accuracy is that of its collected held-out completions. Intervals are 95% Wilson
# intervals; with few prompts they are wide.

# %%
evals, graded = stage.evaluate_all(results, data, students_dir, teacher_lm, out / "eval", max_new_tokens, device)
acc = accuracy_table(graded)
order = ["teacher", *results]
display(stage.accuracy_by_family(acc, order))
plots.accuracy(acc, order);

# %%
quality = stage.quality_table(results, evals)
quality.round(3)

# %% [markdown]
# The **held-out cross-entropy** is how well a student predicts the teacher's own held-out
# answers (lower is closer to the teacher). The **teacher log-likelihood** is the reverse
# view: the mean log-probability per token that the teacher gives to the student's greedy
# answers (higher means the teacher would itself have said something like it). Repetitive
# answers can score well on it once the repetition starts, so read it beside accuracy.
#
# ### Quality against size and training tokens

# %%
plots.quality_vs_size(quality, curves);

# %% [markdown]
# ### What the logprobs give the distiller
#
# A sampled completion shows one token per position. The top-k logprobs show the teacher's
# whole ranking of likely next tokens: how sure it was, and what it would also have said.
# The `topk` student learns from that distribution directly (the mass outside the top 20 is
# kept as one "other" bucket), so each position carries more signal than one sampled token.

# %%
facts = topk_facts(data.topk, data.main_train)
display(Markdown(stage.topk_text(facts, results)))

# %% [markdown]
# ## 5 · Answers side by side

# %%
with pd.option_context("display.max_colwidth", 60):
    display(stage.samples_table(graded, data.gold, order))

# %% [markdown]
# ## 6 · Against the targets
#
# The study's targets (each profile's `target_ratio`): on a 2-core CPU (`workshop`) the
# distilled student reaches at least 75% of the teacher's accuracy on at least one gold family
# while the baseline stays near chance; on one GPU (`full`) at least 90%. The `smoke` profile
# only checks that everything runs.
#
# Accuracy on a closed family can flatter a model: one that always answers "positive" scores
# the share of positive reviews among the gold answers. So the table below adds **balanced
# accuracy** (the mean of the per-label recalls, 50% for any constant answer on two labels) and
# the labels each model actually gave; a student has learned the task only when its balanced
# accuracy is above 50%.

# %%
closed = closed_family_table(graded)
closed.assign(balanced_accuracy=closed.balanced_accuracy.round(2), majority_rate=closed.majority_rate.round(2))

# %%
verdict = stage.verdict(acc, closed, target_ratio, profile)
display(verdict.ratios.round(2).rename_axis("student accuracy / teacher accuracy"))
for text in verdict.texts:
    display(Markdown(text))
targets_table(verdict.targets)

# %%
metrics = stage.stage_metrics(dev.describe(), time.perf_counter() - started, student_size, acc, data.gold,
                             data.heldout, packing, facts, closed, results, evals, verdict.targets)
headline = stage.headline(metrics, packing)
write_metrics(out, metrics, headline)
params = stage.fingerprint_params(globals())
mark_fresh(out, fingerprint(params, data.input_files(collect)), params)
pd.Series(headline, name="headline").to_frame()
