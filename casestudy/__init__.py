"""Distillation case study: a provider serves a teacher, a distiller collects its outputs and
trains students, and the provider tries to prove it happened.

The map (one line per part; each sub-package's docstring lists its modules):

    paths artifacts device profiles aio   common helpers: folders, metrics.json, CPU/GPU rule, profiles, async
    models        the PUBLIC model: the embedded SmolLM2 GGUF, any folder or hub id (both actors load it)
    chat          the chat encoder and the one batched greedy generator (one stop rule grades teacher and students)
    intervals     the exact (Clopper-Pearson) and Wilson intervals on a share, for every layer
    answers       how the study reads an answer (the Veltan words of a translation), for every layer
    token_bytes   exact bytes of each token and back (the provider writes them, the distiller reads them)
    targets       Target(check, measured, met): every stage's metrics.json carries a `targets` list
    palette       one colour and one legend order per model, for every figure of every notebook
    labels        point labels that do not print over each other
    formats       how numbers are shown: p-values in scientific notation, tables rounded, long text whole
    capped        a count parameter the run could not use in full, said rather than silently reduced
    provider/     the lab that owns the teacher: the OpenAI-compatible server, watermark, accounts,
                  rate limits, ledger; serving/ is its engine, posttrain/ its product (the identity and the skill)
    distiller/    the copier: collect/ (prompts, collector, dataset) and students/ (models, training,
                  evaluation); it speaks to the provider only over HTTP, with a base URL and an API key
    competitor/   the honest competitor: the skill built from its own bought translations, no API; the null
    cost/         prices, FLOPs, device time, the published cases, scaling
    detection/    the provider's tests after the fact: radioactivity, identity probes, traffic
    scenario/     the staging of the story, belonging to neither actor: which deployments run, the simulated
                  ordinary customers, the investigator's accounts and queries, the dose and evasion data mixes,
                  Veltan (the skill's language) and the translation work both labs buy
    stages/       one module per notebook (collect 01, distill 02, cost 03, detect 04): what it computes,
                  its targets and verdicts, its metrics.json
    report/       the papermill runner, the HTML report, the notebooks' jupytext pairs

Imports point one way (tests/test_architecture.py checks it):

    common <- provider, distiller, competitor, cost <- detection <- scenario <- stages <- report

provider, distiller, competitor and cost never import one another; detection may import the provider
(it is the provider's side) but not the distiller; each layer may import any layer to its
left.
"""

__version__ = "0.1.0"
