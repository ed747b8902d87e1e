# %% [markdown]
# # 01 · Collect: what a distiller takes from an API
#
# In January 2025 OpenAI said it had evidence that DeepSeek trained its models on the outputs
# of OpenAI's models, collected through the API. That practice, **distillation through an
# API**, needs nothing but an account: send many prompts, keep every answer, and (when the API
# offers them) keep the **log-probabilities** the model gave to its likeliest next tokens.
#
# This notebook plays both sides on one machine:
#
# * **The provider** takes the public model SmolLM2-135M-Instruct, adds its own post-training
#   (an identity, *"Kestrel"* of the fictional lab *"Meridian Labs"*, and a skill the public
#   model lacks: translating English into Veltan, a language no program or public model knows,
#   from translations it paid translators for) and sells the result behind an
#   OpenAI-compatible HTTP API: per-account API keys, rate limits, a request ledger, a text
#   watermark on every completion. Its post-training is what a distiller can steal.
# * **The distiller** is an ordinary customer of that API. It uses the official `openai` client,
#   a bounded number of requests in flight, retries with back-off, and asks for the top
#   logprobs (`top_logprobs` of them, at most what OpenAI's API gives) on every request. Everything it receives is written to disk at once, so a
#   collection that is interrupted resumes where it stopped.
#
# Notebook 02 trains students on what is collected here, starting from the same public
# model; notebook 03 prices it; notebook 04 shows how the provider can tell.

# %% tags=["parameters"]
profile = "smoke"
seed = 0
device = "auto"                 # where the local provider runs the teacher: auto, cpu or cuda
teacher = "embedded"            # "embedded" (SmolLM2-135M-Instruct GGUF) or a model folder / hub id
post_train = True               # the provider serves the public model + its post-training (identity, skill), cached
post_train_steps = 2            # the post-training's optimizer steps (0: one pass over its examples)
skill_examples = 16             # the post-training's bought translations (English into Veltan)
num_prompts = 16                # ordinary prompts asked, spread over families and splits
skill_prompts = 8               # prompts about the provider's skill (translations into Veltan)
gold_checks = 3                 # held-out prompts per ordinary gold family (sentiment, factual), at least
check_items = 3                 # the provider's product check: items per family, teacher and public model (0: none)
samples_per_prompt = 2          # answers sampled per prompt
max_tokens = 48                 # completion length cap per answer
temperature = 0.7               # sampling temperature the distiller asks for
eval_temperature = 0.0          # held-out prompts: greedy, so the teacher is measured as the students will be
top_logprobs = 20               # alternatives per token (0 to 20, as OpenAI's API)
concurrency = 16                # requests in flight (the provider batches them)
control_prompts = 8             # prompts for the control arm (another deployment, no watermark)
traffic_accounts = 3            # simulated ordinary customers sharing the API
traffic_mean_gap_s = 10.0       # mean pause between a simulated customer's conversations
request_timeout_s = 600.0       # per request; a loaded CPU server can take minutes per batch
base_url = ""                   # empty: start the local provider; else any OpenAI-compatible endpoint
model = ""                      # the endpoint's model name (ignored for the local provider)
api_key_env = "OPENAI_API_KEY"  # NAME of the environment variable holding that endpoint's key
prompt_file = ""                # empty: data/prompts/prompts.jsonl
source = "live"                 # "live": serve and collect; "frozen": unpack data/frozen/<profile>-collect.tar.xz (checked)

# %%
import time

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from casestudy.detection import plots as provider_plots
from casestudy.distiller.collect import plots
from casestudy.formats import wrapped
from casestudy.stages import collect as stage
from casestudy.targets import table as targets_table

# %%
started = time.time()
params = stage.Params.from_namespace(globals())  # checked: a bad value stops here, naming it
where = stage.open_workspace(params)  # the run's collect/ folder, the dated prices, the teacher's tokenizer
sns.set_theme(style="whitegrid", context="notebook")
pd.options.display.float_format = "{:.3g}".format
print(f"run directory: {where.out}")

# %% [markdown]
# ## 1 · The prompts
#
# The distiller wants the provider's skill above all, so it asks `skill_prompts` English
# sentences to translate into Veltan: it can write such sentences in any quantity from the
# vocabulary the provider advertises, but it cannot check the answers (the study grades them
# with the staging's answer key). It also wants breadth: explanations, how-tos, creative writing, rewriting,
# summaries, chit-chat, questions about the assistant itself, advice, comparisons, and two
# more families with a **gold answer** (the sentiment of short reviews, short factual
# questions). All were written for this project (`data/prompts/build_prompts.py`); part of
# each family is held out as the `eval` split (the counts are below), and held-out prompts are asked
# greedily (`eval_temperature`), so that notebook 02 measures the teacher the way it measures
# its students. The run takes a stratified subset of `num_prompts` ordinary prompts, then every
# held-out prompt of the two ordinary gold families up to `gold_checks` each (or all the pool
# holds, said below): it takes a hundred items or more per family to see whether the
# post-training cost the model a few points.
#
# A distiller who wants more can let the teacher write prompts too, as Self-Instruct and
# Stanford's Alpaca did: show it a few seed instructions of one family, ask for a new one, keep
# it when it passes simple filters and is not a near-copy (ROUGE-L below 0.7 against every
# instruction kept so far). `python -m casestudy.distiller.expand --base-url … --model …
# --per-family 20 --out more.jsonl` does this against any OpenAI-compatible endpoint, seeding
# from the train split only; pass the file as `prompt_file`.

# %%
pool, prompts = stage.choose_prompts(params)
display(Markdown(stage.prompts_text(pool, prompts)))
display(Markdown(stage.sizes_text(params, pool, prompts)))  # each count as used, and why when it is fewer
stage.prompts_table(prompts)

# %% [markdown]
# ## 2 · Collecting through the API
#
# With an empty `base_url` the notebook starts two deployments, as real server processes:
#
# | arm | deployment | watermark | identity |
# |---|---|---|---|
# | `main` | the provider's product: the public model + its post-training (tuned once, cached) | yes (green-list, secret key) | *Kestrel* by *Meridian Labs*, tuned in |
# | `control` | the public model as anyone can download it | no | *Juniper* by *Oakridge AI*, in the system prompt only |
#
# Whatever a student learns from the control did not come from the provider: it is the
# control of notebooks 02 and 04.
#
# The distiller opens one account per deployment and collects `samples_per_prompt` answers per
# prompt. While it collects the main arm, a few **simulated** ordinary customers use the same
# API: short conversations with follow-up turns, at irregular times, rarely asking for
# logprobs. They are a simulation, not real users; they exist so that the provider's ledger
# (section 6) holds a mix like a real one.
#
# Point `base_url`, `model` and `api_key_env` at any OpenAI-compatible server (vLLM, llama.cpp's
# server, a hosted API) to collect from it instead; then there is no control arm and no ledger.
# An arm already complete for the same settings is reused; an interrupted one resumes.

# %%
result = stage.run_collection(params, prompts, where.out, tokenizer=where.teacher.tokenizer, bill=where.bill)
metrics = stage.stage_metrics(result, params, where.teacher.num_params, where.price_points, started)

# %%
main_records = stage.main_records(where.out)
frame = plots.records_frame(main_records)
metrics.write(where.out)
display(Markdown(stage.collected_text(metrics)))
stage.arms_table(metrics)

# %% [markdown]
# ## 3 · What was collected
#
# Tokens are what the provider bills and what a student learns from. The families differ a
# lot: gold families ask for one word, open families run to the `max_tokens` cap.

# %%
table = plots.family_table(frame)
plots.families(frame, table, params.max_tokens)
plt.show()
table

# %%
wrapped(plots.example_table(frame, per_family=1, seed=params.seed))  # each prompt and answer whole

# %% [markdown]
# ## 4 · Why logprobs matter
#
# A completion is one sample. With `logprobs=True, top_logprobs=k` the API also returns, **for
# every token it generated**, the teacher's k most likely next tokens and their
# log-probabilities: a slice of its full output distribution. A student trained to match those
# soft targets learns from many more bits per token than from the sampled text alone, which
# is why knowledge distillation uses them (Hinton et al., 2015) and why hosted APIs cap `k`
# (the parameters cell refuses more than OpenAI's API gives, `collect.MAX_TOP_LOGPROBS`). The
# distiller stores them as arrays of teacher token ids
# (`topk.bin`, mapped from the exact token bytes the API returns).

# %%
topk = stage.main_topk(where.out)
example = stage.logprob_example(main_records, topk)
print("prompt:", example["messages"][-1]["content"][:200])
print("answer:", example["completion"][:200])
plots.topk_table(example, topk[example["id"]], where.teacher.tokenizer) if example["id"] in topk else "no logprobs returned"

# %%
mass = plots.topk_mass(topk)
if len(mass):
    plots.topk_mass_histogram(mass, params.top_logprobs)
    plt.show()
    display(Markdown(
        f"At the median position the top {params.top_logprobs} tokens cover **{mass.median():.1%}** of the teacher's "
        f"probability (the lowest 10% of positions: below {mass.quantile(0.1):.1%}): nearly the whole "
        f"distribution, over {mass.size:,} generated tokens."))

# %% [markdown]
# ## 5 · Throughput and cost
#
# The provider batches requests that arrive together, so throughput depends on how many the
# distiller keeps in flight (`concurrency`). The bill is what the same tokens would cost at
# published, dated API prices (`data/prices.toml`); notebook 03 puts it beside the cost of
# training.

# %%
speed = plots.throughput_frame(frame, bin_s=5.0 if metrics.wall_seconds < 300 else 30.0)
bills = stage.bill_table(metrics, where.price_points)
plots.throughput_and_bill(speed, bills)
plt.show()
cheapest, dearest = bills.loc[bills["main"].idxmin()], bills.loc[bills["main"].idxmax()]
display(Markdown(
    f"At the listed prices the main arm's {metrics.prompt_tokens + metrics.completion_tokens:,} tokens "
    f"would cost between **${cheapest['main']:.4f}** ({cheapest['price point']}) and **${dearest['main']:.4f}** "
    f"({dearest['price point']})."))
bills

# %% [markdown]
# ## 6 · The provider's view
#
# Every request, answered or refused, is a row in the provider's SQLite ledger
# (`<run>/collect/provider/ledger.sqlite`): account, time, messages, parameters, tokens. The
# accounts named `customer-…` are the **simulated** ordinary customers. Notebook 04 turns this
# ledger into evidence; here is what it holds.

# %%
ledger = stage.ledger_view(params, where.out)
if ledger is not None:
    provider_plots.ledger_timeline(ledger.timeline)
    plt.show()
    display(ledger.accounts)
else:
    print("An external endpoint was used: its ledger belongs to its operator.")

# %% [markdown]
# ## 7 · The provider's product check
#
# Before it sells the tuned model, the provider checks it against the public model it started
# from, on held-out sets of its own, with its deployment prompt and without one: the identity,
# the skill (reviewed translations), and the two ordinary families its post-training must not
# cost (factual questions and reviews, balanced accuracy for the latter), up to `check_items`
# items each (the sizes are below the table). A teacher worse than the free model at ordinary
# things would not sell. Cached with the tuned model.

# %%
check = stage.check_table(params, where.out)
if check is not None:
    display(stage.check_view(check))
    display(Markdown(stage.check_text(params, check)))  # the items per family: check_items, or what the set holds
    metrics.add_product_check(check, stage.check_targets(check))
    metrics.write(where.out)
else:
    print("No post-trained teacher is served here (an external endpoint, post_train = False or check_items = 0).")

# %% [markdown]
# ## 8 · Summary

# %%
display(Markdown(stage.summary_text(metrics, params.top_logprobs, where.flagship, where.out / "main")))
targets_table(metrics.targets)

# %% [markdown]
# ## Try it · another endpoint
#
# **Question.** What does a distiller get from a server that is not ours, and what does it lose?
#
# **Change.** `base_url`, `model` and `api_key_env` in the parameters cell: for instance a
# llama.cpp server (`llama-server -m model.gguf --port 8080`, then `base_url =
# "http://127.0.0.1:8080/v1"`) or vLLM, with the key in the environment variable you name
# (`export MY_KEY=...` before starting JupyterLab; never the key itself in the notebook).
# From a shell: `make report PROFILE=smoke SET="01_collect.base_url=http://127.0.0.1:8080/v1
# 01_collect.model=mine 01_collect.api_key_env=MY_KEY"`. Only use an endpoint whose terms of
# service allow it: collecting outputs to train a competing model is exactly what most
# commercial terms forbid.
#
# **Look for.** Section 2 reports no control arm and section 6 no ledger: the operator keeps
# those. Does the endpoint return `top_logprobs` (section 4), and how many? What do
# throughput and the bill (section 5) look like against the local provider's?

# %% [markdown]
# ## Try it · what the logprobs and the concurrency buy
#
# **Question.** How much faster is a collection with more requests in flight, and what is lost
# when the API gives no logprobs?
#
# **Change.** `concurrency = 1` (then back to the profile's value), and separately
# `top_logprobs = 0`, in the smoke profile (a few minutes each). With the frozen collection
# (`source = "frozen"`) these parameters must stay the profile's: set `source = "live"` to
# collect again.
#
# **Look for.** Completion tokens/s in section 5 (the provider batches what is in flight), and
# the top-k table of section 4. Carry the `top_logprobs = 0` collection into notebook 02: it
# says why it leaves the `topk` students out, and `sft` is what a distiller gets from an API
# that withholds logprobs. How far is it from the `topk` student of a run with them?
