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
# Then the distiller fights back with an **evasion attempt**. A fourth line of evidence,
# **copied mistakes**, asks whether a suspect repeats the teacher's exact errors on fresh skill
# prompts. Last, every suspect goes through every test under one conviction rule. A test
# convicts only when no honest model (the honest competitor, the control, the public model)
# would have been accused by it.

# %% tags=["parameters"]
profile = "smoke"
seed = 0
device = "auto"
num_queries = 16              # prompts sent to each suspect for the watermark test
query_max_tokens = 64         # tokens per suspect answer
query_temperature = 1.0       # suspects sample, as a customer would see them
suspect_precision = "fp32"    # how the simulated suspects are served: "fp32" answers the same on a rerun;
                              # "auto" (bf16 where native) is ~2x faster but its answers change with the batch
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
mistake_probes = 8            # fresh skill prompts the deployed teacher answers, for its mistakes
mistake_max_tokens = 24       # tokens per answer to them (a worked translation takes about 45)
target_p = 1e-6               # p-value a fully watermarked student must reach

# %%
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from casestudy.detection import plots
from casestudy.formats import shown
from casestudy.stages import detect as stage
from casestudy.targets import table as targets_table

# %%
params = stage.Params.from_namespace(globals())  # checked: a bad value stops here, naming it
where = stage.open_workspace(params)  # the run, the deployment (its secret key), the suspects, the public tokenizer
sns.set_theme(style="whitegrid")
stage.suspects_table(where.distilled)

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
# a worked translation leaves the model next to no choice of token, so the watermark (and any
# trace of it in a student) lives in open text, and the investigator asks for open text.

# %%
queries = stage.query_sets(params, where.skill_family)
screen, queries = stage.screen_teacher(where, queries, params)  # for section 6: the prompts the teacher gets wrong
student_answers = stage.ask_students(where, queries, params)
curves = stage.radioactivity(where, queries, student_answers, params)
final = stage.final_table(curves, params.num_queries)
shown(stage.final_view(final, where, params))

# %%
plots.radioactivity(curves, params.alpha, params.target_p)
plt.show()

# %% [markdown]
# ### Is the test calibrated?
#
# If the test is honest, scoring a suspect under keys that are **not** the provider's must
# give p-values spread uniformly between 0 and 1, and at most about `alpha` of them below
# `alpha`. We score the most suspicious student's answers under many random wrong keys.

# %%
suspect, wrong, calib = stage.calibrate(where, queries, student_answers, final, params)
plots.calibration(wrong)
plt.show()
shown(pd.DataFrame([calib.model_dump()], index=[f"wrong keys on '{suspect}'"]))

# %% [markdown]
# ## 2 · Dose and response
#
# How much of the training data must carry the watermark before the test sees it? Here
# the distiller's data is a mix of the watermarked collection and the control collection
# (same prompts, no watermark), open prompts only (where the watermark lives); one student is
# trained per share, with the same recipe, and queried like the others.

# %%
main_train, control_train = stage.train_splits(where)
dose_answers, dose_size = stage.dose_answers(where, main_train, control_train, queries, params)
display(Markdown(dose_size.text()))  # dose_records, or what the train splits hold when that is fewer
dose = stage.dose_table(where, queries, dose_answers, params)
shown(dose[["watermarked_share", "scored", "green", "green_share", "p_value", "significant"]])

# %%
plots.dose(dose, params.alpha, dose_size.used, params.num_queries, params.target_p)
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
probe_answers = stage.probe_answers(where, queries, student_answers, params)  # the deployed teacher's first
rates = stage.probe_rates(probe_answers)
identity = stage.identity_table(rates)
shown(identity, 4)

# %%
plots.identity_rates(identity, len(queries.probe_rows), stage.PROVIDER_IDENTITY.name)
plt.show()
shown(stage.identity_by_language(queries, probe_answers), 2)

# %% [markdown]
# ## 4 · Traffic in the provider's ledger
#
# Every request of notebook 01 is a row in the provider's SQLite ledger: the distiller's
# collection, the control collection and the **simulated** ordinary customers (a simulation,
# not real users: their requests are generated by `casestudy.scenario.customers`). For each
# account we compute traffic features and score them with an unsupervised anomaly detector,
# then check the ranking against the simulation's ground truth.

# %%
seen = stage.traffic(where.ledger(), params.seed)
shown(seen.table(), 2)

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
evasion = stage.evasion(where, main_train, control_train, dose_size.used, queries, rates["control"], params)
display(Markdown(evasion.text()))
shown(evasion.table())

# %% [markdown]
# ## 6 · Copied mistakes
#
# A student trained on the teacher's answers learns its errors too. The provider draws fresh
# English sentences from the skill's grammar (none of them in any training data) and has its own
# teacher, as deployed, translate them. This costs it no suspect queries. It keeps the ones the
# teacher gets wrong and asks every suspect those, greedy (in section 1's ask). A **copy** is an
# answer whose Veltan words are the teacher's wrong words, word for word.
#
# The null is the **honest competitor**: it has the skill without the API and starts from the
# same public model. So it makes whatever mistakes the skill and the base model make by
# themselves. The teacher's mistakes are not independent items: it mistranslates the same few
# words again and again. So the test that decides counts one item per word the teacher gets wrong
# (Fisher's one-sided exact test against the competitor). The per-answer p, which assumes
# independent answers, is shown beside it; it overstates the evidence (`docs/detection.md`
# measures by how much).

# %%
display(Markdown(screen.text()))
mistakes = stage.mistakes_table(screen, student_answers)
shown(mistakes, 4)

# %%
plots.copied_mistakes(mistakes, len(screen.probes))
plt.show()

# %% [markdown]
# ## 7 · Every suspect through every test
#
# One row per model of notebook 02, one p-value per test: watermark radioactivity (section 1),
# identity probes against the control (section 3), copied mistakes against the competitor
# (section 6). The rule: a test **convicts** a model when its p is at most `target_p` while every
# honest model's p on that test stays above `alpha`. An honest model is **cleared** when no test
# gives it p ≤ `alpha`. The traffic test ranks accounts, not models, so it has no column here.

# %%
evidence = stage.verdicts(stage.evidence_table(final, identity, mistakes, where.distilled), params.target_p,
                          params.alpha)
shown(evidence, 3)

# %%
plots.evidence(evidence, stage.TESTS, params.alpha, params.target_p)
plt.show()

# %% [markdown]
# ## Against the targets
#
# The study's target on a 2-core CPU (`workshop`): a student trained on fully watermarked
# data gives a p-value under `target_p` from `num_queries` queries, while the control student
# and the wrong keys stay non-significant (the line above the table gives the values). Two
# students here trained only on watermarked data: the fully watermarked dose student and
# notebook 02's main suspect. The wrong keys pass when their p-values look uniform (a KS test)
# and the count flagged at alpha is not above what alpha predicts (a one-sided binomial test).
# The last two rows are section 7's rule: some test convicts the main suspect, and no test
# accuses an honest model.

# %%
main_suspect = stage.main_suspect(final, where.distilled)
checks = (stage.targets(final, dose, calib, main_suspect, params)
          + stage.evidence_targets(evidence, main_suspect, params.target_p, params.alpha))
display(Markdown(stage.targets_intro(params)))
targets_table(checks)

# %% [markdown]
# ## Summary
#
# Every test, its statistic, its result on the control, and its false positives.

# %%
stage.summary_table(final, calib, rates, identity, seen, main_suspect, params, mistakes)

# %%
metrics = stage.stage_metrics(params, main_suspect, final, calib, dose, identity, seen, evasion, checks,
                              screen=screen, mistakes=mistakes, evidence=evidence)
metrics.write(where.out)
pd.Series(metrics.headline, name="headline").to_frame()

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
# `casestudy/provider/settings.py`); lower it for the main deployment in
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
