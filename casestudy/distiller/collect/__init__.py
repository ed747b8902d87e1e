"""Collecting a teacher's outputs through an OpenAI-compatible API (notebook 01).

    prompts     the prompt file, and a stratified subset for a run
    settings    CollectSettings (checked on construction) and the API key they name
    collector   the async collector: AsyncOpenAI, bounded concurrency, retries, resumable
    logprobs    the API's top-k -> id arrays; what came back of the logprobs asked, per run and for the
                arm; LogprobsWarning when an endpoint returns fewer than asked
    manifest    the arm's manifest.json: settings, counts, logprobs, one entry a run; is_complete, and
                refusing (or setting aside) an arm collected with other settings
    retry       back-off with jitter, honouring Retry-After
    keyring     the distiller's accounts side by side; one the provider blocks (403) retired, a spare brought in
    tokens      token bytes returned by the API -> teacher token ids
    dataset     the arm folder on disk: records.jsonl, topk.bin, manifest.json; read_records, read_topk,
                has_topk / topk_count (does the arm hold top-k logprobs at all?)
    expand      Self-Instruct-style prompt expansion by the teacher
    cli         `python -m casestudy.distiller.collect`: collect one arm from any endpoint
    plots       notebook 01's tables and figures of the harvest
"""
