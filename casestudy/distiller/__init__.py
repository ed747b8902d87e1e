"""The distiller: the competitor that collects a teacher's outputs through an API and trains students.

Collection (notebook 01):
    prompts         the prompt file, and a stratified subset for a run
    collect         the async collector: AsyncOpenAI, bounded concurrency, retries, resumable
    collect_retry   back-off with jitter, honouring Retry-After
    collect_tokens  token bytes returned by the API -> teacher token ids
    dataset         the arm folder on disk: records.jsonl, topk.bin, manifest.json; read_records, read_topk
    traffic         simulated ordinary customers sharing the API (a simulation)
    collect_stage   notebook 01's stage: deployments, both arms, metrics
    collect_report  tables for notebook 01
    collect_cli     `python -m casestudy.distiller.collect_cli`: collect from any endpoint

Students (notebook 02): student, train, losses, packing, evaluate, grading.
"""
