"""Distillation case study: a provider serves a teacher, a distiller collects its
outputs and trains a student, and the provider tries to prove it happened.

Sub-packages mirror the story:
    provider/   the lab that owns the teacher (model loading, API server, watermark)
    distiller/  the competitor (collection, students, training)
    cost/       what it all costs, beside the published figures
    detection/  the provider's tests for distillation
    report/     the papermill runner and the HTML report
"""

__version__ = "0.1.0"
