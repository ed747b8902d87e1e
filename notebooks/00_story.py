# %% [markdown]
# # 00 · The story: did a competitor learn from another lab's API?
#
# This case study rebuilds, at laptop scale, the chain of events behind one of the most
# discussed accusations in AI in early 2025, and lets you check every step yourself:
# how a model can be trained on another model's API outputs, what that costs, and what
# the owner of the original model can and cannot prove afterwards.
#
# Nothing here depends on any real company's systems. Both sides are played by code in
# this repository: a **provider** that owns a small teacher model and sells access to it
# through an OpenAI-compatible API, and a **distiller** that buys that access and trains
# its own, smaller model on what comes back.

# %% [markdown]
# ## What was claimed
#
# The sequence below is how it was reported at the time; the notebooks do not depend on any
# of it being true, and the accusation itself has not been tested in public.
#
# * **A cheap frontier model.** In December 2024 DeepSeek published the technical report
#   of DeepSeek-V3. Its cost table counts 2,788 thousand H800 GPU-hours for the final
#   training run and, at an assumed rental price of \$2 per GPU-hour, arrives at
#   **about \$5.6 million**. The report itself says the figure covers only that run, not
#   the research, ablations, data or staff behind it. Headlines mostly dropped the caveat.
#   (Notebook 03 recomputes the table from its inputs.)
# * **A market shock.** After the reasoning model DeepSeek-R1 was released on 20 January 2025
#   and its app climbed the download charts, Nvidia's share price fell by roughly a sixth on
#   27 January 2025, the largest one-day loss of market value recorded for a single company
#   at that point: investors asked whether frontier models needed frontier budgets.
# * **The accusation.** A few days later OpenAI said, in statements reported by the press,
#   that it had seen evidence that DeepSeek had used *distillation*, training on outputs
#   obtained from OpenAI's models through its API; it was also reported that accounts
#   suspected of pulling large volumes of outputs had been investigated and blocked in
#   late 2024. DeepSeek did not accept the claim, and no evidence was made public.
# * **The contract.** OpenAI's terms of use forbid using its output "to develop models that
#   compete with OpenAI". Breaking terms of service is a contract matter between a customer
#   and a provider; whether model outputs can be owned at all is a separate, open question,
#   and commentators were quick to point out that the accuser's own models were trained on
#   other people's text.

# %% [markdown]
# ## What distillation is
#
# A large *teacher* model's behaviour can be copied into a smaller *student* by training
# the student to imitate the teacher's outputs instead of (or as well as) human data:
#
# * **Knowledge distillation** (Hinton, Vinyals & Dean, 2015) matches the student's whole
#   output distribution to the teacher's *soft* probabilities, which carry more information
#   per example than the single right answer.
# * **Sequence-level distillation** (Kim & Rush, 2016) simply fine-tunes the student on
#   text the teacher generated. This is all a customer of a text API can do with the words
#   alone. Stanford's Alpaca (2023) did exactly that with 52K instructions answered by an
#   OpenAI model for under \$500 of API calls; DeepSeek's own R1-distilled models were made
#   the same way from about 800K samples of R1.
# * **Top-k logprob distillation** sits in between: many APIs, OpenAI's included, return the
#   log-probabilities of the 20 most likely tokens at every position (`top_logprobs`). A
#   distiller who asks for them gets part of the soft distribution too.
#
# The owner of the teacher has its own tools: a **watermark** hidden in the statistics of
# every completion, which can survive into a student trained on it ("radioactivity");
# **identity probes**, since a student often repeats the teacher's name for itself; and its
# **request ledger**, where systematic harvesting looks different from ordinary use.

# %% [markdown]
# ## The road map
#
# | notebook | the story | what it produces |
# |---|---|---|
# | 01 collect | the distiller buys outputs through the provider's OpenAI-style API, with top-20 logprobs; ordinary customers use the same API | a dataset, the bill, the provider's ledger |
# | 02 distil | small students are trained from scratch on the collected data, on a GPU when there is one | students, their accuracy beside the teacher's |
# | 03 cost | what our run cost, what the teacher cost, and the published cases recomputed | cost tables and the quality-versus-cost headline |
# | 04 detect | the provider queries the suspect model as a customer and tests watermark, identity and traffic | p-values and detection rates, with controls |
#
# Every notebook takes its parameters from a **profile** (`smoke` for CI and a quick look,
# `workshop` for a 2-core laptop, `full` for one GPU). The cell below is this notebook's
# parameters cell; the next ones check the machine and list what each profile will run.

# %% tags=["parameters"]
profile = "smoke"

# %%
import pandas as pd
from casestudy.device import pick_device
from casestudy.profiles import load_profiles
from casestudy.models import embedded_gguf_path
from casestudy.paths import NOTEBOOKS_DIR

device = pick_device()
print("device for this run:", device.describe())
print("embedded teacher file:", embedded_gguf_path().name, f"({embedded_gguf_path().stat().st_size / 1e6:.0f} MB)")

# %% [markdown]
# The profiles, as the runner will pass them to each notebook (from `data/profiles.toml`):
# `smoke` is each notebook's own parameters cell; `workshop` and `full` change only what is
# listed, with the reason for each value beside it in the file.

# %%
notebooks = [nb.stem for nb in sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))]
rows = [{"profile": p.name, "notebook": nb,
         "parameters": ", ".join(f"{k}={v}" for k, v in p.notebooks.get(nb, {}).items()) or "(the notebook's defaults)"}
        for p in load_profiles().values() for nb in notebooks]
pd.DataFrame(rows).pivot(index="notebook", columns="profile", values="parameters")[["smoke", "workshop", "full"]]

# %% [markdown]
# The next notebook, **01 collect**, starts the provider's server and plays the distiller.
