# %% [markdown]
# # 02 · Distil: copy the provider's post-training into the public model
#
# The provider's product is the public SmolLM2-135M-Instruct plus its own post-training: an
# identity and a skill the public model lacks: translating English into Veltan, a language (a
# stand-in for a low-resource one) that the provider paid translators to teach it.
# The distiller holds what notebook 01 bought from the API: for every prompt, the teacher's
# answer and, at every token, its most likely tokens with their logprobs (as many as notebook
# 01's `top_logprobs` asked for). Like every real
# distiller (Alpaca started from LLaMA-7B, DeepSeek's R1-Distill models from Qwen2.5 and
# Llama-3), it starts from a pretrained model: the same public model, which anyone can
# download. What it can copy is what the provider added.
#
# | student | starts from | trained on | objective |
# |---|---|---|---|
# | `public` | the public model | nothing | the floor: what the distiller had before buying anything |
# | `sft` | the public model | the provider's answers (arm `main`) | cross-entropy on the sampled tokens |
# | `topk` | the public model | the same, with the top-k logprobs | KL to the teacher's top-k distribution, mixed with cross-entropy |
# | `control` | the public model | the control deployment's answers: the public model behind the same API | as `control_kind` |
# | `<kind>@<share>` | the public model cut to `share` of its parameters by importance | the provider's answers | healing by the same training |
# | `scratch-<size>` | random weights | the provider's answers | what a distiller without a base gets |
# | `competitor` | the public model | its own bought translations, as many sentences, and the public model's own ordinary answers | the honest competitor: the same skill without the API |
# | `program` | (no model) | the three examples on the provider's product page | what a programmer gets for free |
#
# Every model then answers the **held-out prompts** (split `eval`, never trained on) greedily,
# as the teacher did through the API in notebook 01, and is graded against gold answers.

# %% tags=["parameters"]
profile = "smoke"
seed = 0
device = "auto"
public_model = "embedded"     # the public model every student starts from (and its tokenizer)
kinds = ["sft", "topk"]       # objectives of the main students: the whole public model
control_kind = "sft"          # objective of the control student, trained on the control arm
size_curve = [0.5]            # pruned starts: the share of the public model's parameters kept
curve_kind = "topk"           # objective of the pruned students
curve_controls = False        # a control student for every pruned start as well
curve_train_layers = 0        # decoder layers a pruned student trains (0: all, to heal the cut)
scratch_size = "5m"           # a student from random weights of this size ("" for none)
scratch_lr = 0.003            # its peak learning rate
max_steps = 2                 # optimizer steps per student
batch_size = 2                # packed rows per micro-batch
grad_accum = 1                # micro-batches per step
max_len = 256                 # tokens per packed row
lr = 0.0005                   # peak learning rate of a fine-tune of the public model
train_layers = 12             # top decoder layers that train in a fine-tune of the whole public model (0: all)
warmup_steps = 1              # linear warm-up steps
topk_alpha = 0.5              # weight of the top-k KL where the teacher's top-k is known
eval_every = 0                # steps between held-out cross-entropy points (0: at the end only)
max_new_tokens = 64           # tokens per graded answer (a worked translation takes about 45)
target_share = None           # the best student's share of the teacher's skill accuracy to reach (None: no target)
target_margin = None          # points above the untrained public model and the control student
target_p = None               # the exact McNemar p-value against the control to stay under
target_teacher = None         # the teacher's held-out skill accuracy to reach (None: no target)
target_free_share = None      # the most of the teacher's accuracy a free route may reach
target_ordinary_loss = None   # the most the teacher may lose on an ordinary family against the public model

# %%
import time

import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from casestudy.distiller.students import plots
from casestudy.formats import shown, wrapped
from casestudy.stages import distill as stage
from casestudy.targets import table as targets_table

# %%
started = time.perf_counter()
params = stage.Params.from_namespace(globals())  # checked: a bad value stops here, naming it
where = stage.open_workspace(params)  # the run's folders, the device, the public tokenizer (also the teacher's)
sns.set_theme(style="whitegrid")
print(f"device: {where.device}")

# %% [markdown]
# ## 1 · The collected data
#
# Training uses the `train` split of each arm; the `eval` split is held out for every
# measurement below.

# %%
data = stage.Harvest.read(where.collect)
data.table()

# %% [markdown]
# ## 2 · Training
#
# A fine-tune of the whole public model trains its top `train_layers` decoder layers (the
# lower ones and the embedding stay as they are: half the cost of a full fine-tune, as the
# provider's own post-training did); `train_layers = 0`, as the GPU profiles set, trains
# every layer. A pruned student has lost channels and layers chosen by
# importance on a few harvested records (Minitron's MLP activations, ShortGPT's block
# influence), so all of it trains, to heal the cut. Each student is trained with warm-up then
# cosine learning rate, AdamW and packed rows, in bf16 where the hardware multiplies it natively
# (a GPU, recent x86 CPUs; fp32 elsewhere), with fused AdamW on a GPU. The frozen lower layers
# run once per packed row and their output is kept for the next pass and the next student
# (`casestudy/distiller/students/trunk.py`). A student whose data and recipe are unchanged
# since the last run is reused from disk. A `topk` student needs the teacher's top-k logprobs:
# when the harvest holds none (an endpoint that ignores `logprobs`, as `transformers serve`
# does), it is left out, and a sentence above the training table says so.

# %%
plans = stage.plans(params, data)  # the students the parameters ask for that the harvest can train
display(Markdown(stage.skipped_students(data, params)))  # empty when none is left out
results = stage.train_all(plans, data, where, params)
stage.train_table(results, plans)

# %%
curves = stage.curves(results)
plots.training_curves(curves);

# %% [markdown]
# ## 3 · The skill: did the students copy it?
#
# Each student is loaded from its saved folder as its owner would serve it (in the precision it
# trained in), and answers every held-out prompt with a gold answer greedily. The teacher's answers are those it gave
# through the API to the same prompts, asked greedily in notebook 01. For the skill the table
# gives each model's accuracy with its exact (Clopper-Pearson) 95% interval, the **share of
# the provider's skill gain it copied**, (student - its untrained start) / (teacher - public
# model), the exact McNemar test against its control student on the same prompts, and how
# often it answers in the teacher's own format (a student can copy the format and not the skill),
# and its cross-entropy on the teacher's held-out answers (nats per token: how close it came to
# the teacher's whole text, every family included).

# %%
evals, graded = stage.evaluate_all(results, data, where, params)
skill = stage.skill_table(graded, plans, results, evals)
shown(skill)

# %%
plots.skill(skill);

# %% [markdown]
# ## 4 · The ordinary gold families: what the skill cost
#
# The harvest also held ordinary prompts, two families of which have gold answers: short
# factual questions and the sentiment of short reviews; notebook 01 asked every held-out one
# (`gold_checks`). The public model could already do these. The provider meant its
# post-training to leave them alone, and a student trained on a skill may lose some of them:
# each model against the public model on the same prompts, with its exact 95% interval, the
# prompts it lost and gained, and the exact McNemar p-value. The teacher is graded as it is
# sold (its API answers, under the deployment's system prompt), the public model and the
# students as they are downloaded (no system message): a buyer's comparison. Notebook 01's
# product check compares the two models like with like, with and without the prompt.
# Balanced accuracy (the mean recall
# per label) tells a model that knows sentiment from one that always gives the same label (50%
# for any constant answer).

# %%
acc = stage.family_accuracy(graded)
order = ["teacher", *results]
ordinary = stage.ordinary_table(graded)
for text in stage.ordinary_texts(ordinary):
    display(Markdown(text))
closed = stage.closed_families(graded)
shown(ordinary)

# %%
plots.ordinary(ordinary);

# %% [markdown]
# ### What the logprobs give the distiller
#
# A sampled answer shows one token per position. The top-k logprobs show the teacher's whole
# ranking of likely next tokens: how sure it was, and what it would also have said. The `topk`
# student learns from that distribution directly (the mass outside the top k kept as one
# "other" bucket); positions the API gives no logprobs for (the end of an answer) keep plain
# cross-entropy.

# %%
facts = stage.logprob_facts(data)
pd.Series(facts, name="teacher's top-k over the training answers").to_frame()

# %% [markdown]
# ## 5 · Answers side by side

# %%
wrapped(stage.samples_table(graded, data.gold, order))  # every answer whole

# %% [markdown]
# ## 6 · Against the targets
#
# The study's targets (each profile's `target_*`, in `data/profiles.toml`): a skill worth
# stealing (the teacher translates most held-out sentences, nothing free comes close), a teacher
# worth buying (it keeps the ordinary families), and a copy that works (the best distilled
# student reaches a share of the teacher's skill accuracy, well above the untrained public model
# and the control student, with a significant exact McNemar test against the control). The
# line above the table gives this profile's values.

# %%
judged = stage.verdict(skill, plans, params, ordinary)
for text in judged.texts:
    display(Markdown(text))
display(Markdown(stage.targets_intro(params)))
targets_table(judged.targets)

# %%
metrics = stage.stage_metrics(params, where.device, time.perf_counter() - started, acc, skill, data, results, plans,
                              evals, closed, facts, judged, where.collect, ordinary)
metrics.write(where.out)
pd.Series(metrics.headline, name="headline").to_frame()

# %% [markdown]
# ## Try it · are the logprobs worth asking for?
#
# **Question.** Does the student trained on the teacher's top-k logprobs copy more of the
# provider's skill than the one trained on the sampled text alone?
#
# **Change.** `topk_alpha` (the weight of the top-k KL: `0.0` is plain fine-tuning on the text,
# `1.0` the KL alone), in the parameters cell or for this notebook alone:
# `.venv/bin/python -m casestudy.report --profile workshop --only 02_distill --set
# 02_distill.topk_alpha=1.0` (notebook 01 must have run).
#
# **Look for.** Section 3: the skill accuracy, the share of the skill gain copied, and the exact
# McNemar p against the control. Is the difference between `sft` and `topk` larger than the
# interval around each accuracy?

# %% [markdown]
# ## Try it · how small can the copy be?
#
# **Question.** How much of the skill survives in a smaller student?
#
# **Change.** `size_curve = [0.5]` or `[0.25]`, and
# `scratch_size = "5m"` against `""`: pruned starts keep a share of the public model's
# parameters, the scratch student starts from random weights.
#
# **Look for.** The copied share against the student's parameters (section 3), and in notebook
# 03 what each student cost to train. Where does the curve fall off?
