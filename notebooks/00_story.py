# %% [markdown]
# # 00 · The story: did a competitor learn from another lab's API?
#
# In January 2025 OpenAI suggested that DeepSeek, a Chinese lab whose cheap models had just
# shaken the stock market, had trained on the outputs of OpenAI's models bought through its
# API. This case study rebuilds that chain of events at laptop scale and lets you check every
# step yourself: how a model can be trained on another model's API outputs, what that costs,
# and what the owner of the original model can and cannot prove afterwards.
#
# Nothing here depends on any real company's systems. Both sides are played by code in
# this repository: a **provider** that owns a small teacher model and sells access to it
# through an OpenAI-compatible API, and a **distiller** that buys that access and trains
# its own model on what comes back.

# %% [markdown]
# ## What happened, as it was reported
#
# Every fact below links to where we read it; the list of sources at the end says which copy
# we read and what we could not check. The notebooks do not depend on any of it being true,
# and the accusation itself has not been tested in public.
#
# * **A cheap frontier model.** In December 2024 DeepSeek published the
#   [DeepSeek-V3 Technical Report](https://arxiv.org/abs/2412.19437) (arXiv:2412.19437). V3 is
#   a mixture-of-experts model of 671 billion parameters, 37 billion of them active for each
#   token, "trained on a cluster equipped with 2048 NVIDIA H800 GPUs" (section 3.1). Its cost
#   table counts 2.788 million H800 GPU-hours and, at an assumed rental price of \$2 per
#   GPU-hour, arrives at **\$5.576 million**, the "\$5.6 million" of the headlines. The report
#   itself limits the figure to the final training run: the costs "include only the official
#   training of DeepSeek-V3, excluding the costs associated with prior research and ablation
#   experiments on architectures, algorithms, or data" (section 1). It says nothing either
#   way about staff or about buying the GPUs; the \$2 is a rental price. Headlines mostly
#   dropped the caveat. (Notebook 03 recomputes the table from its inputs.)
# * **A market shock.** In the week before 27 January 2025 DeepSeek released its reasoning
#   model R1, and its free assistant overtook ChatGPT on Apple's US App Store
#   ([Reuters via The Star, 29 January 2025](https://www.thestar.com.my/tech/tech-news/2025/01/29/microsoft-probing-if-deepseek-linked-group-improperly-obtained-openai-data-bloomberg-news-reports)).
#   On Monday 27 January 2025 Nvidia's shares fell **17%**, erasing **\$589 billion** of
#   market value, the largest one-day loss in US stock-market history (Bloomberg, 27 January
#   2025, "Nvidia's \$589 Billion DeepSeek Rout Is Largest in Market History";
#   [syndicated copy](https://finapress.com/2025/01/27/nvidias-589-billion-deepseek-rout-is-largest-in-market-history/)).
#   Investors asked whether frontier models needed frontier budgets.
# * **The accusation.** On 28 January 2025 Bloomberg reported, citing unnamed people familiar
#   with the matter, that Microsoft's security researchers had observed, in the autumn of 2024,
#   individuals they believed might be linked to DeepSeek taking a large amount of data out
#   through OpenAI's API, and that Microsoft and OpenAI were investigating
#   ([Bloomberg, 28 January 2025](https://news.bloomberglaw.com/ip-law/microsoft-probing-if-deepseek-linked-group-obtained-openai-data)).
#   The next day OpenAI told the Financial Times it had seen some evidence of *distillation*
#   (training on outputs obtained from its models), which it suspected came from DeepSeek;
#   it declined to detail that evidence
#   ([Semafor's summary, 29 January 2025](https://www.semafor.com/article/01/29/2025/openai-accuses-deepseek-of-training-competitor-on-its-model)).
#   The FT added that OpenAI and Microsoft had investigated and **blocked, in 2024, a year
#   before, API accounts they believed belonged to DeepSeek**, on suspicion of distillation
#   ([Forbes's account of the FT report](https://am1.news/usconservative/topic/forbes/6-slug-openai-believes-deepseek-distilled-its-data-for-traininghere-s-what-to-know-about-the-technique)).
#   OpenAI's statement to Bloomberg said: "We know PRC (China)-based companies — and others —
#   are constantly trying to distill the models of leading US AI companies"
#   ([Business Today, 30 January 2025](https://www.businesstoday.in/technology/news/story/openai-microsoft-looking-into-deepseek-over-alleged-copying-of-ai-model-reports-462626-2025-01-30)).
# * **The White House.** On 28 January 2025 David Sacks, the White House's AI and crypto
#   czar, told Fox News: "There's substantial evidence that what DeepSeek did here is they
#   distilled knowledge out of OpenAI models and I don't think OpenAI is very happy about this"
#   (as quoted by Bloomberg, linked above). He gave no evidence in public: Bloomberg wrote that
#   he said it "without detailing the evidence", Semafor that he "provided no further
#   evidence" (both linked above).
# * **The contract.** OpenAI's terms of use forbid users to "Use Output to develop models that
#   compete with OpenAI" ([OpenAI Terms of Use](https://openai.com/policies/terms-of-use),
#   the version effective 31 January 2024; the FT quoted the same clause in January 2025).
#   Breaking terms of service is a contract matter between a customer and a provider; whether
#   model outputs can be owned at all is a separate, open question, and commentators were quick
#   to point out that the accuser's own models were trained on other people's text (for one,
#   [404 Media](https://404media.co/openai-furious-deepseek-might-have-stolen-all-the-data-openai-stole-from-us)).
#
# In these reports DeepSeek did not immediately respond to requests for comment. No evidence
# was made public, so the claim was not tested.

# %% [markdown]
# ## What came after
#
# * **OpenAI's memo to Congress (February 2026).** On 12 February 2026 OpenAI sent a memo to
#   the US House Select Committee on Strategic Competition between the United States and the
#   Chinese Communist Party, reported by Bloomberg and by Reuters, which saw it. It accused
#   DeepSeek of "ongoing efforts to free-ride on the capabilities developed by OpenAI and other
#   U.S. frontier labs" and said: "We have observed accounts associated with DeepSeek employees
#   developing methods to circumvent OpenAI's access restrictions and access models through
#   obfuscated third-party routers and other ways that mask their source"
#   ([Reuters's report, as republished by TechDigest](https://techdigest.ng/openai-alleges-chinese-startup-deepseek-attempted-to-clone-u-s-ai-models)).
#   We have not seen the memo itself; DeepSeek did not immediately respond.
# * **Anthropic's report (February 2026).** On 23 February 2026 Anthropic published
#   [Detecting and preventing distillation attacks](https://www.anthropic.com/news/detecting-and-preventing-distillation-attacks).
#   It names three labs, DeepSeek, Moonshot AI and MiniMax: "These labs generated over 16
#   million exchanges with Claude through approximately 24,000 fraudulent accounts, in
#   violation of our terms of service and regional access restrictions" (as quoted by
#   [The Jerusalem Post](https://www.jpost.com/business-and-innovation/article-887718); also
#   [AFP via Mint, 24 February 2026](https://www.livemint.com/technology/us-ai-giants-accuse-chinese-rivals-of-mass-data-theft/amp-11771875011912.html)).
#   It says it attributed them through IP addresses, request metadata, infrastructure
#   indicators and evidence from industry partners.
#
# Both are the accusers' own accounts of their own logs. This study asks what the owner of a
# teacher could actually show.

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
#   alone, and it can copy what the teacher's post-training taught it, the costly
#   human-feedback step included, without paying for that step. Stanford's
#   [Alpaca](https://github.com/tatsu-lab/stanford_alpaca) (2023) did exactly that: LLaMA 7B
#   fine-tuned on 52K instructions answered by OpenAI's `text-davinci-003`, data that cost
#   "less than \$500". DeepSeek's own R1-distilled models were made the same way from about
#   800K curated samples (DeepSeek-R1 report, [arXiv:2501.12948](https://arxiv.org/abs/2501.12948),
#   sections 2.3.3 and 2.4). Pricing those 800K samples as API calls (notebook 03 does) gives
#   a **lower bound** on what generating them cost, not the bill: the ~600K reasoning
#   samples are the ones that *survived* rejection sampling (several answers were sampled
#   per prompt and only correct, readable ones kept), and part of the ~200K non-reasoning
#   samples were reused from DeepSeek-V3's own SFT data rather than generated by R1.
# * **Top-k logprob distillation** sits in between: many APIs, OpenAI's included, return the
#   log-probabilities of the most likely tokens at every position (`top_logprobs`, at most 20
#   in [OpenAI's API reference](https://platform.openai.com/docs/api-reference)). A distiller
#   who asks for them gets part of the soft distribution too.
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
# | 01 collect | the distiller buys outputs through the provider's OpenAI-style API, with the top-k logprobs of every token; ordinary customers use the same API | a dataset, the bill, the provider's ledger |
# | 02 distil | the distiller fine-tunes the public model the provider's teacher was built from (SmolLM2-135M-Instruct) on what it bought, on a GPU when there is one; beside these students, a control trained on the public model's own answers, an honest competitor, and, as the profile asks, pruned starts and a model trained from random weights | students, their accuracy beside the teacher's |
# | 03 cost | what our run cost, what the teacher cost, and the published cases recomputed | cost tables and the quality-versus-cost headline |
# | 04 detect | the provider queries the suspect model as a customer and tests watermark, identity and traffic | p-values and detection rates, with controls |
#
# The students are not small models trained from scratch: every one starts from the public
# model's weights (whole, or cut down by importance where the profile asks for a size curve),
# as real distillers start from a pretrained base (Alpaca from LLaMA, DeepSeek's R1-Distill
# models from Qwen2.5 and Llama). Only the `scratch-<size>` student starts from random
# weights, to show what a distiller without a base would get. Notebook 02 opens with a table
# of its students: where each starts and what it trains on.
#
# Every notebook takes its parameters from a **profile**: `smoke` for CI and a quick look,
# `workshop` for a laptop's CPU, `gpu` for a short session on a GPU (the workshop's collection,
# students fine-tuned whole, the size curve), `full` for the whole study on a GPU. The cell
# below is this notebook's parameters cell; the next ones check the machine and list what each
# profile will run.

# %% tags=["parameters"]
profile = "smoke"

# %%
from casestudy.stages import story

print(story.machine_text())

# %% [markdown]
# The profiles, as the runner will pass them to each notebook (from `data/profiles.toml`):
# `smoke` is each notebook's own parameters cell; `workshop`, `full` and `gpu` change only
# what is listed, with the reason for each value beside it in the file; `gpu` starts from
# `workshop`'s values, so its column shows both its own changes and those it keeps.

# %%
story.profiles_table()

# %% [markdown]
# The next notebook, **01 collect**, starts the provider's server and plays the distiller.

# %% [markdown]
# ## Sources, and what we could not check
#
# Each fact above was checked against the text named here before it was written. Where we
# could not read the original (paywalled or not stored), the copy we read is named.
#
# | fact | source | date | read in |
# |---|---|---|---|
# | V3: 671B parameters (37B active), 2,048 H800 GPUs, 2.788M GPU-hours, \$5.576M, the excluded costs | DeepSeek-V3 Technical Report, [arXiv:2412.19437](https://arxiv.org/abs/2412.19437) | Dec 2024 | the report's text (abstract, sections 1 and 3.1) |
# | R1-distilled models from ~800K samples (~600K reasoning, ~200K not) | DeepSeek-R1 report, [arXiv:2501.12948](https://arxiv.org/abs/2501.12948) | Jan 2025 | the report's text (sections 2.3.3, 2.4) |
# | Nvidia −17%, \$589 billion, a US record | Bloomberg, "Nvidia's \$589 Billion DeepSeek Rout Is Largest in Market History" | 27 Jan 2025 | a [syndicated copy](https://finapress.com/2025/01/27/nvidias-589-billion-deepseek-rout-is-largest-in-market-history/) |
# | DeepSeek's assistant overtook ChatGPT on the US App Store | Reuters | 29 Jan 2025 | [The Star](https://www.thestar.com.my/tech/tech-news/2025/01/29/microsoft-probing-if-deepseek-linked-group-improperly-obtained-openai-data-bloomberg-news-reports) |
# | Microsoft saw DeepSeek-linked data taken through the API in autumn 2024; Sacks "without detailing the evidence" | Bloomberg, "Microsoft Probing If DeepSeek-Linked Group Improperly Obtained OpenAI Data" | 28 Jan 2025 | [Bloomberg Law](https://news.bloomberglaw.com/ip-law/microsoft-probing-if-deepseek-linked-group-obtained-openai-data) |
# | OpenAI saw "some evidence" of distillation; Sacks "provided no further evidence" | Financial Times, "OpenAI says it has evidence China's DeepSeek used its model to train competitor" | 29 Jan 2025 | [Semafor's summary](https://www.semafor.com/article/01/29/2025/openai-accuses-deepseek-of-training-competitor-on-its-model) |
# | OpenAI and Microsoft blocked suspected DeepSeek accounts in 2024 | Financial Times (same report) | 29 Jan 2025 | [Forbes's account of it](https://am1.news/usconservative/topic/forbes/6-slug-openai-believes-deepseek-distilled-its-data-for-traininghere-s-what-to-know-about-the-technique) (a syndicated copy) |
# | OpenAI's statement on PRC-based companies | statement to Bloomberg | late Jan 2025 | [Business Today](https://www.businesstoday.in/technology/news/story/openai-microsoft-looking-into-deepseek-over-alleged-copying-of-ai-model-reports-462626-2025-01-30) |
# | Sacks's "substantial evidence" | Fox News interview | 28 Jan 2025 | Bloomberg's quotation (above) |
# | "Use Output to develop models that compete with OpenAI" | [OpenAI Terms of Use](https://openai.com/policies/terms-of-use) | effective 31 Jan 2024 | a copy of that version; the FT quoted the clause |
# | `top_logprobs`: at most 20 | [OpenAI API reference](https://platform.openai.com/docs/api-reference) | current | the parameter's documentation |
# | Alpaca: 52K instructions, data "less than \$500" | [tatsu-lab/stanford_alpaca](https://github.com/tatsu-lab/stanford_alpaca) | Mar 2023 | its README |
# | OpenAI's memo to the House Select Committee on the CCP | Reuters and Bloomberg | 12 Feb 2026 | [TechDigest's copy of Reuters's report](https://techdigest.ng/openai-alleges-chinese-startup-deepseek-attempted-to-clone-u-s-ai-models); the memo itself not seen |
# | ~24,000 accounts, >16 million exchanges, three labs | Anthropic, [Detecting and preventing distillation attacks](https://www.anthropic.com/news/detecting-and-preventing-distillation-attacks) | 23 Feb 2026 | its statement as quoted by [The Jerusalem Post](https://www.jpost.com/business-and-innovation/article-887718) and [Mint](https://www.livemint.com/technology/us-ai-giants-accuse-chinese-rivals-of-mass-data-theft/amp-11771875011912.html) |
#
# **Not verified here.** Accounts of this story often quote a University of California,
# Berkeley researcher saying that training on a human-aligned model's outputs gets a distiller
# the human-feedback step for free. We could not find the article the remark comes from, so
# we do not quote it or name its author; the point itself is made in our own words above.
