"""The provider: the lab that owns the teacher and sells access to it through an API.

    server, app                  the OpenAI-compatible HTTP server: checks cheapest first, replies, ledger rows
    connections                  deadlines for idle and slow clients on uvicorn's h11 protocol
    planning                     GenerationPlan: a chat request checked against the deployment, its prompt
    streaming, replies           server-sent events as the tokens are drawn; logprob entries with token bytes
    prompting                    chat messages to prompt ids, customers' text kept as text
    serving/                     the home-made continuous-batching engine (engine, kvcache, batcher, sampling...)
    schemas, errors              request and response bodies, OpenAI-style errors
    watermark                    the green-list watermark on every completion
    accounts, ratelimit, ledger  API keys, per-account limits, the SQLite request ledger
    settings, private            one deployment's settings (JSON); owner-only files, the key kept out of argv
    posttrain/                   the post-training of the served teacher: identity, data, skill, evaluate, tune
    __main__                     `python -m casestudy.provider serve | create-account`

The model it serves is loaded by casestudy.models; it imports nothing of the distiller's.
"""
