"""The provider: the lab that owns the teacher and sells access to it through an API.

    server, app, engine, batcher   the OpenAI-compatible HTTP server: dynamic batching of generate calls
    schemas, errors                request and response bodies, OpenAI-style errors
    watermark                      the green-list watermark on every completion
    accounts, ratelimit, ledger    API keys, per-account limits, the SQLite request ledger
    settings                       one deployment's settings (JSON)
    identity/                      the identity post-training: text, data, evaluate, tune
    __main__                       `python -m casestudy.provider serve | create-account`

The model it serves is loaded by casestudy.models; it imports nothing of the distiller's.
"""
