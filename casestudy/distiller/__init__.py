"""The distiller: the competitor that buys a teacher's outputs through an API and trains students.

It speaks to the provider only over HTTP (a base URL and an API key, the official
`openai` client) and imports nothing of the provider's, nor of the cost study.

    collect/    prompts, the async collector, the dataset on disk, prompt expansion (notebook 01)
    students/   student models, training, losses, packing, evaluation, grading (notebook 02)
    expand      `python -m casestudy.distiller.expand`: a short name for collect/expand.py's command
"""
