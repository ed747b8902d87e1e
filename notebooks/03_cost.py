# %% [markdown]
# # 03 · What distillation costs
#
# In its technical report of December 2024 DeepSeek put the final training run of DeepSeek-V3
# at about $5.6M; in January 2025 OpenAI said it had evidence that DeepSeek used its models'
# outputs. This notebook puts numbers beside both
# claims. It first **recomputes the published figures from their inputs** (DeepSeek-V3's
# training-cost table, the price of DeepSeek-R1's distillation data, Stanford Alpaca), then
# **measures our own run** (notebooks 01 and 02): device time, FLOPs, the API bill, money and
# energy. It **estimates the teacher's own training cost the same way**, and ends with the
# headline: how much of the skill the provider added a student copied, for what the distiller
# paid and against what the provider paid, and how that cost scales.
#
# Every price, utilisation and power figure is a parameter below or a dated line in
# `data/prices.toml`: change them and rerun to redo the sums with your own.

# %% tags=["parameters"]
profile = "smoke"
price_file = ""                      # empty: data/prices.toml (a relative path: from the project root)
headline_price = "gpt-4o"            # API price point for the students' bill and the scaling figure
annotation_price = "professional translation (ATA minimum)"  # the skill's data: paid translation per word
gpu_hour_usd = 2.5                   # per GPU-hour (H100 on demand, illustrative)
gpu_watts = 700.0                    # per GPU while busy (H100 SXM TDP)
gpu_peak_tflops = 989.0              # dense BF16 peak per GPU (H100 SXM)
gpu_utilisation = 0.4                # model FLOPs utilisation for estimates from FLOPs
cpu_core_hour_usd = 0.04             # per CPU core-hour (illustrative)
cpu_core_watts = 10.0                # per busy CPU core (illustrative)
teacher_train_tokens = 2e12          # SmolLM2-135M was trained on 2T tokens
teacher_n_layers = 30                # SmolLM2-135M architecture, for the attention term
teacher_d_model = 576
teacher_context = 2048               # assumed pre-training sequence length
v3_gpu_hour_usd = 2.0                # DeepSeek's H800 rental assumption
r1_prompt_tokens = 200               # assumed tokens per R1 distillation prompt
r1_reasoning_completion_tokens = 4000  # assumed tokens per reasoning answer (600K samples)
r1_other_completion_tokens = 500     # assumed tokens per other answer (200K samples)
a100_hour_usd = 1.5                  # per A100-hour, for Alpaca's training (illustrative)
scaling_student_params = [135e6, 1e9, 7e9, 70e9]  # student sizes in the scaling figure
scaling_epochs = 2.0                 # epochs over the collected data in the scaling figure
scaling_max_samples = 1e7            # right end of the scaling figure

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from casestudy.cost import plots
from casestudy.stages import cost as stage
from casestudy.targets import table as targets_table

# %%
params = stage.Params.from_namespace(globals())  # checked: a bad value stops here, naming it
where = stage.open_workspace(params)  # the run's folders and the dated price tables
pd.options.display.float_format = "{:.4g}".format
inputs = stage.load_run_inputs(where.run)  # notebooks 01 and 02's metrics, each checked against its contract
if not inputs.complete:
    display(Markdown("**Our run's part is skipped:** " + inputs.message()))

# %% [markdown]
# ## 1 · Published cases, recomputed
#
# ### DeepSeek-V3: "$5.576M"
#
# The V3 technical report's Table 1 gives H800 GPU-hours per training stage and prices them at
# $2 per GPU-hour. Recomputed from those inputs:

# %%
# NBVAL_CHECK_OUTPUT
v3 = stage.v3_table(params)
print(stage.v3_text(v3))

# %% [markdown]
# Two cross-checks from the same report's inputs: 14.8T pre-training tokens, and 37B of the
# 671B parameters active per token. The report states 180K GPU-hours per trillion tokens; the
# implied utilisation counts 6·N·D against the BF16 peak (V3 trained in FP8, whose peak is
# twice as high).

# %%
# NBVAL_CHECK_OUTPUT
print(stage.v3_checks_text(params))

# %% [markdown]
# The $5.576M is the rental price of the final training run, and nothing else. What it
# leaves out:

# %%
# NBVAL_CHECK_OUTPUT
print(stage.v3_left_out_text())

# %% [markdown]
# ### DeepSeek-R1's distilled models: 800K samples
#
# R1's smaller models (Qwen2.5 and Llama bases) were made by supervised fine-tuning alone on
# about 800K samples curated with R1: about 600K reasoning and 200K other. The paper does not
# state their lengths, so the token counts below are **assumptions** (parameters). Buying those
# samples through an API at each dated price point:

# %%
# NBVAL_CHECK_OUTPUT
r1 = stage.r1_bill(params, where.price_points)
print(stage.r1_text(params, r1))

# %%
display(Markdown(stage.r1_against_v3_text(r1, v3)))

# %% [markdown]
# ### Stanford Alpaca: "under $500" and "under $100"
#
# Alpaca (March 2023) generated 52K instructions with text-davinci-003 for under $500 and
# fine-tuned LLaMA-7B in 3 hours on 8 A100s for under $100. What those bounds imply:

# %%
# NBVAL_CHECK_OUTPUT
print(stage.alpaca_text(params, where.price_points))

# %% [markdown]
# ## 2 · Our run, measured
#
# The assumptions used for money and energy, and the dated price table they come beside:

# %%
display(params.hardware().as_table())
display(stage.hardware_price_table(where.hardware_prices))
display(stage.price_table(where.price_points))

# %%
cost = stage.analyse_run(inputs, params, where.price_points)
if cost:
    display(cost.stages)

# %% [markdown]
# Each stage's wall time (from its own metrics; `notebook_s` is the whole notebook, from the
# runner) times the devices it kept busy gives device-seconds; they are priced per GPU-hour or
# per core-hour and turned into energy at the stated power (both shown beside each row). The work done, in FLOPs (2·N per generated or read token; 6·N·D plus
# attention for training):

# %%
if cost:
    display(cost.flops)

# %% [markdown]
# What the collection would have cost if our teacher had been billed like a commercial API,
# at each dated price point:

# %%
if cost:
    display(stage.api_bills_by_price(cost))

# %% [markdown]
# ## 3 · The teacher's own cost
#
# Estimated the same way a reader would estimate anyone's: 6·N·D plus the attention term for
# SmolLM2-135M on its pre-training tokens (`teacher_train_tokens`), as GPU-hours at the stated
# peak and utilisation.

# %%
if cost:
    display(pd.DataFrame([cost.teacher]))
    display(Markdown(stage.teacher_text(cost, params)))

# %% [markdown]
# ## 4 · The headline: three routes to the same skill
#
# The skill is worth stealing because its data cost money: the provider paid translators for
# every sentence it taught (the translators are simulated, their price per word is *modelled*
# from a dated source in `data/prices.toml`). Three routes lead to the skill, each priced the
# same way, its data plus its compute (the device time its training took, measured):
#
# - **created**: the provider's translations and its post-training;
# - **copied**: the distiller's API bill (at the headline price point) and its best student's training;
# - **built**: the honest competitor's own translations, as many sentences as the distiller asked
#   about, at the same price, and its student's training (notebook 02's `competitor`).

# %%
if cost:
    routes = stage.routes_table(cost)
    display(routes)
    if len(routes):
        plots.routes(routes)
        plt.show()
    display(Markdown(stage.routes_text(cost)))

# %% [markdown]
# ### Every student, and the provider's compute
#
# The provider's product is the public model plus its post-training; the skill it added is
# what a distiller can steal. For each student trained in notebook 02: the share of the
# provider's skill gain it copied, (student - its untrained start) / (teacher - public model)
# on held-out prompts, against what the distiller spent: the API bill of the answers it
# learned from, at the headline price point, plus its training, estimated from FLOPs at the
# stated GPU price and MFU like the teacher's pre-training (a fine-tune of the top layers
# costs 2·N + 4·N_trained FLOPs per token) and measured from the device time it took. The
# provider's side: its post-training, measured, and the pre-training of the model under it,
# estimated above.
#
# The figure puts both sides on one scale: what each spent (data plus measured training, log
# scale) against the share of the skill the provider added that it reached, the provider's own
# being all of it; the honest competitor is the third point, and the public model's
# pre-training, which none of them paid, the line above.

# %%
if cost:
    display(stage.students_table(cost))
    display(stage.provider_table(cost))

# %%
if cost:
    plots.copied_vs_cost(stage.spending_table(cost), cost.provider["pretraining_usd"]);

# %%
if cost:
    display(Markdown(stage.headline_text(cost)))
    display(Markdown(stage.caveats(cost, inputs)))

# %% [markdown]
# ### Does it hold in another run?
#
# One run is one draw: the students' initialisation and data order, the investigator's
# queries and the dose mixes change with the seed. `python -m casestudy.report.spread`
# reruns notebooks 02 to 04 under other seeds, and `make publish` ships its table with the
# profile's results. The latest published spread for this profile, and where its seeds ran:

# %%
seed_spread = stage.published_spread(params.profile)
display(Markdown(stage.spread_text(params.profile, seed_spread)))
if seed_spread is not None:
    display(stage.spread_summary(seed_spread))

# %% [markdown]
# ## 5 · Scaling
#
# What collection plus distillation would cost as samples and the student grow: our measured
# tokens per sample at the headline price point, plus training for the stated epochs at the
# stated utilisation. Our students are the points (black: estimated like the lines; red: from
# our measured device time). The dotted lines mark Alpaca's and R1's sample counts. The right
# panel shows the training part alone, which the API bill can hide on the left.

# %%
if cost:
    scaling = stage.scaling(cost, inputs, params)
    plots.scaling(scaling.grid, scaling.points, scaling.marks);

# %% [markdown]
# ## Metrics for the report

# %%
metrics = stage.stage_metrics(params, where.price_point, cost, v3, r1, inputs.message())
metrics.write(where.out)
display(targets_table(metrics.targets))
pd.Series(metrics.headline)

# %% [markdown]
# ## Try it · which assumption moves the headline?
#
# **Question.** Is a distilled copy cheap because the API is cheap, or because training is?
#
# **Change.** `headline_price` (e.g. `"deepseek-chat (V3)"` or `"o1"`, names from `data/prices.toml`),
# then `gpu_hour_usd` and `gpu_utilisation`; this notebook runs in seconds:
# `.venv/bin/python -m casestudy.report --profile workshop --only 03_cost --set
# 03_cost.headline_price=o1`.
#
# **Look for.** Section 4's headline: which term (the collection's API bill or the students'
# compute) dominates, and by how much does it move when you change one assumption at a time?

# %% [markdown]
# ## Try it · what counts as a cost claim?
#
# **Question.** DeepSeek's "$5.576M" and the R1 distillation estimate rest on stated
# assumptions. Which ones matter most?
#
# **Change.** `v3_gpu_hour_usd`, `r1_reasoning_completion_tokens` (the assumed length of a
# reasoning answer) and `r1_prompt_tokens`.
#
# **Look for.** Section 1's recomputed figures: which of them follow from the published numbers
# alone, and which only from an assumption of ours? Write the sentence you would accept as
# proof of a training cost.
