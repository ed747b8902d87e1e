"""Build notebooks/01_collect.ipynb from the cells below (written without outputs).

    python tools/build_01_collect.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbbuild import build  # noqa: E402

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "01_collect.ipynb"

CELLS = [
    ("md", r"""
# 01 · Collect: what a distiller takes from an API

In January 2025 OpenAI said it had evidence that DeepSeek trained its models on the outputs
of OpenAI's models, collected through the API. That practice, **distillation through an
API**, needs nothing but an account: send many prompts, keep every answer, and (when the API
offers them) keep the **log-probabilities** the model gave to its likeliest next tokens.

This notebook plays both sides on one machine:

* **The provider** serves a teacher model, SmolLM2-135M-Instruct, as the product *"Kestrel"* of
  the fictional lab *"Meridian Labs"*, behind an OpenAI-compatible HTTP API: per-account API
  keys, rate limits, a request ledger, a text watermark on every completion.
* **The distiller** is an ordinary customer of that API. It uses the official `openai` client,
  a bounded number of requests in flight, retries with back-off, and asks for
  `top_logprobs=20` on every request. Everything it receives is written to disk at once, so a
  collection that is interrupted resumes where it stopped.

Notebook 02 trains small students on what is collected here; notebook 03 prices it;
notebook 04 shows how the provider can tell.
"""),
    ("params", r"""
profile = "smoke"
seed = 0
device = "auto"                 # where the local provider runs the teacher: auto, cpu or cuda
teacher = "embedded"            # "embedded" (SmolLM2-135M-Instruct GGUF) or a model folder / hub id
tune_identity = False           # fine-tune each deployment's identity in (cached) or only state it in the system prompt
num_prompts = 16                # prompts asked, spread over families and splits
samples_per_prompt = 2          # answers sampled per prompt
max_tokens = 48                 # completion length cap per answer
temperature = 0.7               # sampling temperature the distiller asks for
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
"""),
    ("code", r"""
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Markdown, display

from casestudy.artifacts import write_metrics
from casestudy.cost.prices import api_bill, load_price_table
from casestudy.distiller import collect_report as report
from casestudy.distiller.collect_stage import StageParams, run_collection, stage_metrics
from casestudy.distiller.dataset import read_records, read_topk
from casestudy.distiller.prompts import load_prompts, select_prompts
from casestudy.paths import run_dir, stage_dir
from casestudy.provider.teacher import load_teacher

sns.set_theme(style="whitegrid", context="notebook")
pd.options.display.float_format = "{:.3g}".format
started = time.time()
run = run_dir(profile)
out = stage_dir(run, "collect")
params = StageParams(
    seed=seed, device=device, teacher=teacher, tune_identity=tune_identity, samples_per_prompt=samples_per_prompt,
    max_tokens=max_tokens, temperature=temperature, top_logprobs=top_logprobs, concurrency=concurrency,
    control_prompts=control_prompts, traffic_accounts=traffic_accounts, traffic_mean_gap_s=traffic_mean_gap_s,
    base_url=base_url, model=model, api_key_env=api_key_env, request_timeout_s=request_timeout_s,
)
price_points = load_price_table()
flagship = next(p for p in price_points if p.tier == "flagship")
local_teacher = load_teacher(teacher, device="cpu")  # its tokenizer maps returned token bytes to ids
print(f"run directory: {out}")
"""),
    ("md", r"""
## 1 · The prompts

A distiller wants breadth: explanations, how-tos, creative writing, rewriting, summaries,
chit-chat, questions about the assistant itself, advice, comparisons, and two families with
a **gold answer** (the sentiment of short reviews, short factual questions) on which notebook 02
can grade a student. All were written for this project (`data/prompts/build_prompts.py`);
about a fifth of each family is held out as the `eval` split. The run takes a stratified
subset of `num_prompts`.

A distiller who wants more can let the teacher write prompts too, as Self-Instruct and
Stanford's Alpaca did: show it a few seed instructions of one family, ask for a new one, keep
it when it passes simple filters and is not a near-copy (ROUGE-L below 0.7 against every
instruction kept so far). `python -m casestudy.distiller.expand --base-url … --model …
--per-family 20 --out more.jsonl` does this against any OpenAI-compatible endpoint, seeding
from the train split only; pass the file as `prompt_file`.
"""),
    ("code", r"""
pool = load_prompts(prompt_file or None)
prompts = select_prompts(pool, num_prompts, seed)
chosen = pd.DataFrame([{"family": p.family, "split": p.split} for p in prompts])
counts = pd.crosstab(chosen.family, chosen.split, margins=True, margins_name="total")
display(Markdown(f"**{len(prompts)}** of the {len(pool)} prompts, from {chosen.family.nunique()} families:"))
counts
"""),
    ("md", r"""
## 2 · Collecting through the API

With an empty `base_url` the notebook deploys the teacher twice, as real server processes:

| arm | deployment | watermark | identity |
|---|---|---|---|
| `main` | the provider's product | yes (green-list, secret key) | *Kestrel* by *Meridian Labs* |
| `control` | same base model, another deployment | no | *Juniper* by *Oakridge AI* |

The distiller opens one account per deployment and collects `samples_per_prompt` answers per
prompt. While it collects the main arm, a few **simulated** ordinary customers use the same
API: short conversations with follow-up turns, at irregular times, rarely asking for
logprobs. They are a simulation, not real users; they exist so that the provider's ledger
(section 6) holds a mix like a real one.

Point `base_url`, `model` and `api_key_env` at any OpenAI-compatible server (vLLM, llama.cpp's
server, a hosted API) to collect from it instead; then there is no control arm and no ledger.
An arm already complete for the same settings is reused; an interrupted one resumes.
"""),
    ("code", r"""
bill = lambda prompt_tokens, completion_tokens: api_bill(prompt_tokens, completion_tokens, flagship)
result = run_collection(params, prompts, out, tokenizer=local_teacher.tokenizer, bill=bill)
metrics = stage_metrics(result, params, local_teacher.num_params, price_points, started)
"""),
    ("code", r"""
main_records = read_records(out / "main")
frame = report.records_frame(main_records)
headline = {
    "records": f"{metrics['records']:,} (+{metrics['control']['records']:,} control)",
    "throughput": f"{metrics['tokens_per_second']:.1f} tokens/s on {metrics['device']}",
    "API bill": f"${metrics['bill_usd'][flagship.label]:.4f} at {flagship.label}",
}
write_metrics(out, metrics, headline)
display(Markdown(
    f"The distiller holds **{metrics['records']:,} records** ({metrics['prompt_tokens']:,} prompt and "
    f"{metrics['completion_tokens']:,} completion tokens), collected in {metrics['wall_seconds']:.0f} s of "
    f"collection time at **{metrics['tokens_per_second']:.1f} completion tokens/s** from a "
    f"{metrics['teacher_params'] / 1e6:.1f}M-parameter teacher served on {metrics['device']}."
))
pd.DataFrame({"main": {k: metrics[k] for k in ("records", "prompt_tokens", "completion_tokens", "wall_seconds", "tokens_per_second")},
              "control": {k: metrics["control"][k] for k in ("records", "prompt_tokens", "completion_tokens", "wall_seconds", "tokens_per_second")}})
"""),
    ("md", r"""
## 3 · What was collected

Tokens are what the provider bills and what a student learns from. The families differ a
lot: gold families ask for one word, open families run to the `max_tokens` cap.
"""),
    ("code", r"""
table = report.family_table(frame)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
sns.barplot(data=table.reset_index(), y="family", x="completion_tokens", color="C0", ax=axes[0])
axes[0].set(title="completion tokens per family", xlabel="tokens", ylabel="")
sns.boxplot(data=frame, y="family", x="completion_tokens", order=table.index, color="C1", ax=axes[1])
axes[1].axvline(max_tokens, color="k", ls="--", lw=1)
axes[1].set(title=f"answer length (dashed: max_tokens = {max_tokens})", xlabel="tokens", ylabel="")
plt.tight_layout(); plt.show()
table
"""),
    ("code", r"""
report.example_table(frame, per_family=1, seed=seed)
"""),
    ("md", r"""
## 4 · Why logprobs matter

A completion is one sample. With `logprobs=True, top_logprobs=k` the API also returns, **for
every token it generated**, the teacher's k most likely next tokens and their
log-probabilities: a slice of its full output distribution. A student trained to match those
soft targets learns from many more bits per token than from the sampled text alone, which
is why knowledge distillation uses them (Hinton et al., 2015) and why hosted APIs cap `k`
(OpenAI: at most 20). The distiller stores them as arrays of teacher token ids
(`topk.bin`, mapped from the exact token bytes the API returns).
"""),
    ("code", r"""
topk = read_topk(out / "main")
example = next((r for r in main_records if r["family"] not in ("sentiment", "factual") and r["id"] in topk), main_records[0])
print("prompt:", example["messages"][-1]["content"][:200])
print("answer:", example["completion"][:200])
report.topk_table(example, topk[example["id"]], local_teacher.tokenizer) if example["id"] in topk else "no logprobs returned"
"""),
    ("code", r"""
mass = report.topk_mass(topk)
if len(mass):
    fig, ax = plt.subplots(figsize=(6, 3))
    sns.histplot(mass, bins=40, ax=ax)
    ax.set(xlabel=f"probability covered by the top {top_logprobs} tokens", ylabel="token positions")
    plt.tight_layout(); plt.show()
    display(Markdown(
        f"At the median position the top {top_logprobs} tokens cover **{mass.median():.1%}** of the teacher's "
        f"probability (the lowest 10% of positions: below {mass.quantile(0.1):.1%}): nearly the whole "
        f"distribution, over {mass.size:,} generated tokens."))
"""),
    ("md", r"""
## 5 · Throughput and cost

The provider batches requests that arrive together, so throughput depends on how many the
distiller keeps in flight (`concurrency`). The bill is what the same tokens would cost at
published, dated API prices (`data/prices.toml`); notebook 03 puts it beside the cost of
training.
"""),
    ("code", r"""
speed = report.throughput_frame(frame, bin_s=5.0 if metrics["wall_seconds"] < 300 else 30.0)
bills = pd.DataFrame([{"price point": p.label, "tier": p.tier, "main": metrics["bill_usd"][p.label],
                       "control": metrics["control"]["bill_usd"][p.label]} for p in price_points])
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
sns.lineplot(data=speed, x="seconds", y="tokens_per_second", marker="o", ax=axes[0])
axes[0].set(title="collection throughput (main arm)", xlabel="seconds since the first answer", ylabel="completion tokens / s")
sns.barplot(data=bills, y="price point", x="main", color="C2", ax=axes[1])
axes[1].set(xscale="log", title="what the main arm would cost", xlabel="USD (log scale)", ylabel="")
plt.tight_layout(); plt.show()
cheapest, dearest = bills.loc[bills["main"].idxmin()], bills.loc[bills["main"].idxmax()]
display(Markdown(
    f"At the listed prices the main arm's {metrics['prompt_tokens'] + metrics['completion_tokens']:,} tokens "
    f"would cost between **${cheapest['main']:.4f}** ({cheapest['price point']}) and **${dearest['main']:.4f}** "
    f"({dearest['price point']})."))
bills
"""),
    ("md", r"""
## 6 · The provider's view

Every request, answered or refused, is a row in the provider's SQLite ledger
(`<run>/collect/provider/ledger.sqlite`): account, time, messages, parameters, tokens. The
accounts named `customer-…` are the **simulated** ordinary customers. Notebook 04 turns this
ledger into evidence; here is what it holds.
"""),
    ("code", r"""
from casestudy.provider.ledger import read_ledger

ledger_path = out / "provider" / "ledger.sqlite"
if params.local and ledger_path.is_file():
    ledger = read_ledger(ledger_path)
    timeline = report.ledger_timeline(ledger)
    fig, ax = plt.subplots(figsize=(10, 0.45 * timeline.account_name.nunique() + 1.2))
    sns.stripplot(data=timeline, x="minutes", y="account_name", hue="who", jitter=0.15, size=3, ax=ax)
    ax.set(title="chat requests in the provider's ledger", xlabel="minutes since the first request", ylabel="")
    plt.tight_layout(); plt.show()
    display(report.ledger_accounts(ledger))
else:
    print("An external endpoint was used: its ledger belongs to its operator.")
"""),
    ("md", r"""
## 7 · Summary
"""),
    ("code", r"""
control_text = (f"a control arm of {metrics['control']['records']:,} records from an unwatermarked deployment with "
                f"another identity" if metrics["control"]["records"] else "no control arm")
display(Markdown(
    f"From **{metrics['endpoint']}** the distiller collected **{metrics['records']:,} records** with the top-"
    f"{top_logprobs} logprobs of every token, plus {control_text}. Collection took {metrics['wall_seconds']:.0f} s "
    f"at {metrics['tokens_per_second']:.1f} tokens/s on {metrics['device']}; at {flagship.label} prices it would have "
    f"cost ${metrics['bill_usd'][flagship.label]:.4f}. Records: `{out / 'main'}`; next, notebook 02 trains students on them."))
"""),
]


if __name__ == "__main__":
    build(NOTEBOOK, CELLS)
    print(f"wrote {NOTEBOOK}")
