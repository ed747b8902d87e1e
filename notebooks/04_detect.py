# %% [markdown]
# # 04 · Detect: can the provider prove its teacher was distilled?
#
# The provider suspects that a competitor's model learned from its API. It cannot open the
# suspect model; it can only **query it as any customer would**, and look at its own
# **request ledger**. This notebook runs the provider's three lines of evidence, each with a
# control and an exact p-value or an interval:
#
# 1. **Watermark radioactivity.** Every completion the provider served carried a secret
#    green-list watermark. A student trained on those completions may reproduce a faint
#    excess of green tokens in *its own* text. The test counts green (context, token) pairs
#    in the suspect's answers under the secret key, each distinct pair once, and asks how
#    unlikely that count is for a model that never saw the watermark (exact binomial tail).
# 2. **Identity probes.** The provider's deployment calls itself by a fictional name. A
#    student may have learnt to say the same.
# 3. **Traffic.** In the ledger, harvesting looks different from ordinary use.
#
# Then the distiller fights back with an **evasion attempt**, and a summary table lists
# every test with its control.

# %% tags=["parameters"]
profile = "smoke"
seed = 0
device = "auto"
num_queries = 16              # prompts sent to each suspect for the watermark test
query_max_tokens = 64         # tokens per suspect answer
query_temperature = 1.0       # suspects sample, as a customer would see them
num_wrong_keys = 100          # keys that are not the provider's, for the calibration
alpha = 0.01                  # significance level of every test
dose_shares = [0.0, 0.5, 1.0] # watermarked share of the training data of each dose student
dose_records = 16             # training records per dose student
dose_steps = 2                # optimizer steps per dose student
dose_start = "public"         # where the dose and evasion students start, as notebook 02's main students
dose_lr = 0.0005              # their peak learning rate
dose_batch_size = 2           # their packed rows per step
dose_train_layers = 12        # the top decoder layers they train
probe_max_tokens = 48         # tokens per identity-probe answer
target_p = 1e-6               # p-value a fully watermarked student must reach

# %%
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display
from transformers import AutoTokenizer

from casestudy.artifacts import write_metrics
from casestudy.detection import plots
from casestudy.detection.identity_probes import probe_rate
from casestudy.detection.radioactivity import PairScorer, calibration, radioactivity_curves, suspect_pairs, wrong_key_p_values
from casestudy.models import resolve_source
from casestudy.paths import run_dir, stage_dir
from casestudy.provider.posttrain.identity import PROVIDER_IDENTITY, mentions_identity
from casestudy.provider.ledger import read_ledger
from casestudy.scenario import deployments
from casestudy.scenario.investigator import ask_model
from casestudy.stages import detect as stage
from casestudy.targets import table as targets_table

# %%
run = run_dir(profile)
out = stage_dir(run, "detect")
deployment = deployments.load_deployment(stage_dir(run, "collect"))
distill, students = stage.suspects(run)
tokenizer = AutoTokenizer.from_pretrained(students["public"])  # the public tokenizer (the teacher's), saved with every student
scorer = PairScorer(deployment.watermark, len(tokenizer))
sns.set_theme(style="whitegrid")
stage.suspects_table(distill)

# %% [markdown]
# ## 1 · Watermark radioactivity
#
# The suspects are the students of notebook 02: the public model fine-tuned on the provider's
# watermarked outputs (`sft`, `topk`, and any pruned or scratch student), on the **control**
# deployment's unwatermarked outputs (`control`), and not trained at all (`public`, the public
# model itself). Each one is started behind the
# same OpenAI-compatible server, without a watermark of its own, in the precision its owner
# would serve it in (bf16 where the hardware multiplies it natively), and asked the same
# questions through the `openai` client. The questions are open prompts, held-out ones first:
# a worked addition leaves the model next to no choice of token, so the watermark (and any
# trace of it in a student) lives in open text, and the investigator asks for open text.

# %%
watermark_queries, probe_queries, probes = stage.query_sets(num_queries, query_max_tokens, query_temperature,
                                                            probe_max_tokens, seed, distill["skill_family"])
conversations = watermark_queries.conversations
student_answers = {name: ask_model(name, path, {"watermark": watermark_queries, "probes": probe_queries}, out, seed,
                                   device) for name, path in students.items()}
answers = {name: a["watermark"] for name, a in student_answers.items()}
curves = radioactivity_curves(tokenizer, conversations, answers, scorer, stage.checkpoints(num_queries))
final = stage.final_table(curves, num_queries)
final.assign(gamma=deployment.watermark.greenlist_ratio, significant=final.p_value <= alpha)

# %%
plots.radioactivity(curves, alpha)
plt.show()

# %% [markdown]
# ### Is the test calibrated?
#
# If the test is honest, scoring a suspect under keys that are **not** the provider's must
# give p-values spread uniformly between 0 and 1, and at most about `alpha` of them below
# `alpha`. We score the most suspicious student's answers under many random wrong keys.

# %%
suspect = final.p_value.idxmin()
pairs = suspect_pairs(tokenizer, conversations, answers[suspect], scorer.width)
wrong = wrong_key_p_values(pairs, deployment.watermark, len(tokenizer), num_wrong_keys, seed)
calib = calibration(wrong, alpha)
plots.calibration(wrong)
plt.show()
pd.Series(calib, name=f"wrong keys on '{suspect}'").to_frame()

# %% [markdown]
# ## 2 · Dose and response
#
# How much of the training data must carry the watermark before the test sees it? Here
# the distiller's data is a mix of the watermarked collection and the control collection
# (same prompts, no watermark), open prompts only (where the watermark lives); one student is
# trained per share, with the same recipe, and queried like the others.

# %%
recipe = stage.DoseRecipe(dose_records, dose_steps, dose_start, dose_lr, dose_batch_size, dose_train_layers, seed, device)
main_train, control_train = stage.train_splits(run, distill["skill_family"])
dose_answers, total = stage.dose_answers(main_train, control_train, dose_shares, recipe, out, watermark_queries)
dose = stage.dose_table(tokenizer, conversations, dose_answers, scorer, num_queries, alpha)
dose[["watermarked_share", "scored", "green", "green_share", "p_value", "significant"]]

# %%
plots.dose(dose, alpha, total, num_queries)
plt.show()

# %% [markdown]
# ## 3 · Identity probes
#
# Held-out questions about the assistant's identity, paraphrased and in several languages
# (Indonesian among them), none of which was used to tune the teacher. We count the answers
# that name the provider's fictional model, for the deployed teacher, the distilled students
# and the control student, with exact 95% intervals, and compare each student with the
# control by Fisher's exact test.

# %%
teacher_dir = resolve_source(deployment.model_source)  # the deployed teacher's weights
probe_answers = {"teacher (deployed)": ask_model("teacher", teacher_dir, {"probes": probe_queries}, out, seed,
                                                 device, deployment.system_prompt, deployment.precision)["probes"]}
probe_answers |= {name: a["probes"] for name, a in student_answers.items()}
rates = {name: probe_rate(name, texts, PROVIDER_IDENTITY) for name, texts in probe_answers.items()}
identity = stage.identity_table(rates)
identity.round(4)

# %%
plots.identity_rates(identity, len(probes), PROVIDER_IDENTITY.name)
plt.show()
by_language = pd.DataFrame({"language": [p["language"] for p in probes],
                            **{name: [mentions_identity(t, PROVIDER_IDENTITY) for t in texts]
                               for name, texts in probe_answers.items()}}).groupby("language").mean()
by_language.round(2)

# %% [markdown]
# ## 4 · Traffic in the provider's ledger
#
# Every request of notebook 01 is a row in the provider's SQLite ledger: the distiller's
# collection, the control collection and the **simulated** ordinary customers (a simulation,
# not real users: their requests are generated by `casestudy.scenario.customers`). For each
# account we compute traffic features and score them with an unsupervised anomaly detector,
# then check the ranking against the simulation's ground truth.

# %%
ledger = read_ledger(deployments.ledger_path(stage_dir(run, "collect")))
seen = stage.traffic(ledger, seed)
seen.table().round(2)

# %%
plots.traffic(seen.curve, seen.auc, len(seen.features), seen.replay, seen.distillers[0])
plt.show()
display(Markdown(seen.text()))

# %% [markdown]
# ## 5 · An evasion attempt: scrub the identity
#
# A distiller who knows the teacher's name can drop every collected completion that
# mentions it or its maker before training: a string search, nearly free. We scrub the training
# set of the fully watermarked dose student (the same random sample of records) and train a
# student on what is left with the same recipe and size; the unscrubbed arm is the dose student
# itself. Both get the identity probes and the watermark test.

# %%
evasion, dropped, scrubbed_from = stage.evasion(main_train, control_train, total, recipe, out, tokenizer,
                                                {"watermark": watermark_queries, "probes": probe_queries}, scorer,
                                                rates["control"], num_queries)
display(Markdown(f"Scrubbing dropped **{dropped}** of the {scrubbed_from} records."))
pd.DataFrame(evasion).set_index("training data")

# %% [markdown]
# ## Against the targets
#
# The study's target on a 2-core CPU (`workshop`): the student trained on fully watermarked
# data gives p ≤ 1e-6 from at most 200 queries, while the control student and the wrong keys
# stay non-significant. Two students here trained only on watermarked data: the fully
# watermarked dose student and notebook 02's main suspect. The wrong keys pass when their
# p-values look uniform (KS p > 0.05) and the count flagged at alpha is not above what alpha
# predicts (one-sided binomial p > 0.05).

# %%
main_suspect = stage.main_suspect(final, distill)
checks = stage.targets(final, dose, calib, main_suspect, target_p, alpha)
display(Markdown(stage.targets_intro(profile, num_queries, target_p)))
targets_table(checks)

# %% [markdown]
# ## Summary
#
# Every test, its statistic, its result on the control, and its false positives.

# %%
stage.summary_table(final, calib, rates, identity, seen, main_suspect, alpha)

# %%
metrics = stage.stage_metrics(num_queries, main_suspect, final, calib, dose, identity, seen, evasion, checks)
headline = stage.headline(final, dose, calib, rates, seen, main_suspect, num_queries, alpha)
write_metrics(out, metrics, headline)
pd.Series(headline, name="headline").to_frame()

# %% [markdown]
# ## Try it · a quarter of the diet watermarked
#
# **Question.** A distiller mixes the provider's outputs with other data. Does the watermark
# still show when only 25% of the training records carry it?
#
# **Change.** `dose_shares = [0.0, 0.25, 1.0]`:
# `.venv/bin/python -m casestudy.report --profile workshop --only 04_detect --set
# "04_detect.dose_shares=[0.0, 0.25, 1.0]"` (notebook 02 must have run).
#
# **Look for.** Section 2's dose table: the p-value at 25% against `alpha`, and whether the 0%
# student stays non-significant. Then raise `num_queries`: how many queries does the 25%
# student need before its p-value falls below `alpha`? (The radioactivity curves of section 1
# show p against the number of queries.)

# %% [markdown]
# ## Try it · how many queries does the proof need?
#
# **Question.** How many answers must the provider obtain from a suspect before the test is
# convincing, and how does that depend on the watermark's strength?
#
# **Change.** `num_queries` (lower, e.g. half the profile's). Further, for the bold: the
# watermark's bias is the provider's setting (`WatermarkSettings.bias` in
# `casestudy/provider/settings.py`, 2.0 by default); lower it for the main deployment in
# `casestudy/scenario/deployments.py`, then collect again (`01_collect.source=live`) and rerun
# 02 and 04. A weaker bias changes the teacher's text less and leaves a fainter trace.
#
# **Look for.** The curves of section 1: at how many queries does each suspect cross `alpha`
# and `target_p`? Do the wrong keys (the calibration) stay uniform?

# %% [markdown]
# ## Try it · scrub harder
#
# **Question.** Section 5 dropped the records that name the teacher. What would a distiller do
# next, and what would survive it?
#
# **Change.** Nothing to set: read section 5's table, then section 3's probes. Discuss: the
# identity is gone, is the watermark? Would paraphrasing every answer with another model
# remove it, and at what cost (notebook 03)?
#
# **Look for.** Which of the provider's tests (watermark, identity, traffic) is evidence a
# court, a journalist or the distiller's own customers would accept, and which is a hint only.
