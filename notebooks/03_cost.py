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
price_file = ""                      # empty: data/prices.toml
headline_price = "gpt-4o"            # API price point for the students' bill and the scaling figure
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
import pandas as pd
from IPython.display import Markdown, display

from casestudy.artifacts import write_metrics
from casestudy.cost import plots
from casestudy.cost.compute import HardwareAssumptions
from casestudy.cost.headline import Architecture
from casestudy.cost.prices import find_price, load_hardware_table, load_price_table
from casestudy.cost.published import (V3_LEFT_OUT, R1DataAssumptions, alpaca_table, as_text, deepseek_v3_checks,
                                      deepseek_v3_matches_report, deepseek_v3_table, r1_distillation_bill)
from casestudy.cost.scaling import log_range, measured_points, scaling_grid, tokens_per_sample
from casestudy.paths import run_dir, stage_dir
from casestudy.report.spread import published_spread, spread_sentence, summary as spread_summary
from casestudy.stages.cost import (analyse_run, caveats, headline_text, load_run_inputs, percent_text, stage_metrics,
                                   usd_text)
from casestudy.targets import table as targets_table

# %%
pd.options.display.float_format = "{:.4g}".format
hw = HardwareAssumptions(gpu_hour_usd, gpu_watts, gpu_peak_tflops, gpu_utilisation, cpu_core_hour_usd, cpu_core_watts)
teacher_arch = Architecture(teacher_n_layers, teacher_d_model, teacher_context)
price_points = load_price_table(price_file or None)
price_point = find_price(price_points, headline_price)
run = run_dir(profile)
out = stage_dir(run, "cost")
inputs = load_run_inputs(run)
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
v3 = deepseek_v3_table(v3_gpu_hour_usd)
print(as_text(v3, {"gpu_hours_k": ",.0f", "usd_m": ".3f"}))
print("matches the report (2,788K GPU-hours, $5.576M):", deepseek_v3_matches_report(v3))

# %% [markdown]
# Two cross-checks from the same report's inputs: 14.8T pre-training tokens, and 37B of the
# 671B parameters active per token. The report states 180K GPU-hours per trillion tokens; the
# implied utilisation counts 6·N·D against the BF16 peak (V3 trained in FP8, whose peak is
# twice as high).

# %%
# NBVAL_CHECK_OUTPUT
print(as_text(deepseek_v3_checks(gpu_peak_tflops), {"value": ".3f", "reported": ".0f"}))

# %% [markdown]
# The $5.576M is the rental price of the final training run, and nothing else. What it
# leaves out:

# %%
# NBVAL_CHECK_OUTPUT
print(as_text(pd.DataFrame(V3_LEFT_OUT, columns=["left out", "status"]), {}))

# %% [markdown]
# ### DeepSeek-R1's distilled models: 800K samples
#
# R1's smaller models (Qwen2.5 and Llama bases) were made by supervised fine-tuning alone on
# about 800K samples curated with R1: about 600K reasoning and 200K other. The paper does not
# state their lengths, so the token counts below are **assumptions** (parameters). Buying those
# samples through an API at each dated price point:

# %%
# NBVAL_CHECK_OUTPUT
r1_data = R1DataAssumptions(r1_prompt_tokens, r1_reasoning_completion_tokens, r1_other_completion_tokens)
r1 = r1_distillation_bill(r1_data, price_points)
print(f"samples {r1_data.samples:,}, prompt {r1_prompt_tokens}, reasoning answer {r1_reasoning_completion_tokens}, "
      f"other answer {r1_other_completion_tokens} tokens (assumed)")
print(as_text(r1, {"input_m_tokens": ",.0f", "output_m_tokens": ",.0f", "usd": ",.0f"}))

# %%
by_name = r1.set_index("price point")["usd"]
v3_usd = v3.set_index("stage").loc["Total", "usd_m"] * 1e6
display(Markdown(
    f"At these lengths the data costs {usd_text(by_name['deepseek-reasoner (R1)'])} at R1's own price "
    f"({percent_text(by_name['deepseek-reasoner (R1)'] / v3_usd)} of V3's {usd_text(v3_usd)}) and "
    f"{usd_text(by_name['o1'])} at o1's ({percent_text(by_name['o1'] / v3_usd)}). One caveat: o1's API bills its "
    "reasoning tokens as output but does not return them, so an o1 bill buys answers, not reasoning traces."))

# %% [markdown]
# ### Stanford Alpaca: "under $500" and "under $100"
#
# Alpaca (March 2023) generated 52K instructions with text-davinci-003 for under $500 and
# fine-tuned LLaMA-7B in 3 hours on 8 A100s for under $100. What those bounds imply:

# %%
# NBVAL_CHECK_OUTPUT
davinci = find_price(price_points, "text-davinci-003")
print(as_text(alpaca_table(davinci, a100_hour_usd), {"value": ",.2f"}))

# %% [markdown]
# ## 2 · Our run, measured
#
# The assumptions used for money and energy, and the dated price table they come beside:

# %%
display(hw.as_table())
display(pd.DataFrame([p.__dict__ for p in load_hardware_table(price_file or None)]).drop(columns="source"))
display(pd.DataFrame([p.__dict__ for p in price_points]).drop(columns="source"))

# %%
cost = analyse_run(inputs, hw, price_point, price_points, teacher_arch, teacher_train_tokens)
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
    display(cost.api_bills.pivot_table(index=["price point", "as of"], columns="arm", values="usd", sort=False))

# %% [markdown]
# ## 3 · The teacher's own cost
#
# Estimated the same way a reader would estimate anyone's: 6·N·D plus the attention term for
# SmolLM2-135M on 2T tokens, as GPU-hours at the stated peak and utilisation.

# %%
if cost:
    t = cost.teacher
    display(pd.DataFrame([t]))
    display(Markdown(
        f"Pre-training the teacher: {t['flops']:.3g} FLOPs, {t['gpu_hours']:,.0f} GPU-hours at "
        f"{gpu_peak_tflops:g} TFLOP/s and MFU {gpu_utilisation:g}, {usd_text(t['usd'])} at "
        f"${gpu_hour_usd:g}/GPU-hour, {t['kwh']:,.0f} kWh at {gpu_watts:g} W per GPU "
        f"(sequence length {teacher_context} assumed for the attention term)."))

# %% [markdown]
# ## 4 · The headline: the skill copied, for what
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

# %%
if cost:
    display(cost.students[["student", "start", "arm", "params", "trainable_params", "skill_accuracy",
                           "copied_share", "api_usd", "training_usd", "measured_training_usd", "distiller_usd"]])
    display(pd.Series(cost.provider, name="the provider's spend").to_frame())

# %%
if cost:
    plots.copied_vs_cost(cost.students, cost.provider);

# %%
if cost:
    display(Markdown(headline_text(cost, price_point)))
    display(Markdown(caveats(cost, inputs, price_point, hw)))

# %% [markdown]
# ### Does it hold in another run?
#
# One run is one draw: the students' initialisation and data order, the investigator's
# queries and the dose mixes change with the seed. `python -m casestudy.report.spread`
# reruns notebooks 02 to 04 under other seeds, and `make publish` ships its table with the
# profile's results. The latest published spread for this profile, and where its seeds ran:

# %%
seed_spread = published_spread(profile)
if seed_spread is None:
    display(Markdown(f"No spread has been published for the `{profile}` profile yet."))
else:
    display(Markdown(spread_sentence(seed_spread)))
    display(spread_summary(seed_spread))

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
    prompt_per_sample, completion_per_sample = tokens_per_sample(inputs.collect)
    grid = scaling_grid(log_range(min(100, inputs.collect["records"]), scaling_max_samples), scaling_student_params,
                        prompt_per_sample, completion_per_sample, scaling_epochs, price_point, hw)
    points = measured_points(cost.students, inputs.collect["records"])
    plots.scaling(grid, points, {"Alpaca 52K": 52_000, "R1 800K": r1_data.samples});

# %% [markdown]
# ## Metrics for the report

# %%
metrics, headline = stage_metrics(cost, v3, r1, price_point, hw, inputs.message())
write_metrics(out, metrics, headline)
display(targets_table(metrics["targets"]))
pd.Series(headline)

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
