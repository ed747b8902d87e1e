"""Notebook 02's stage: start students from the public model, train them on the harvest, measure
what they copied against controls, and judge the result against the profile's targets.

    params    Params: the notebook's parameters, checked; the training recipe they make
    students  the Workspace, the Harvest, each student's plan (start, data, objective; a `topk` student
              left out, in one sentence, when the harvest holds no top-k logprobs), training, grading
    verdict   the skill table (interval, copied share, McNemar against the control), the free routes and the
              honest competitor, and the verdict
    ordinary  the ordinary gold families: every model against the public model (exact intervals, McNemar)
    metrics   Metrics: the metrics.json contract (typed students and skill rows), its headline

The skill (`SKILL_FAMILY`) is what the provider added to the public model; its held-out
prompts were asked greedily in notebook 01, so the teacher is measured as the students are.
"""

from casestudy.stages.distill.metrics import (Metrics, OrdinaryRow, SkillRow, StudentMetrics, architecture, headline,
                                              optional, skill_rows, stage_metrics, student_metrics)
from casestudy.stages.distill.ordinary import ordinary_table, ordinary_texts, teacher_kept
from casestudy.stages.distill.params import KINDS, SKILL_FAMILY, Params
from casestudy.stages.distill.students import (COMPETITOR, CONTROL, PROGRAM, PUBLIC, TEACHER, Harvest, StudentPlan, Workspace,
                                               accuracy_by_family, closed_families, curves, evaluate_all,
                                               family_accuracy, logprob_facts, open_workspace, plans, samples_table,
                                               skipped_students, train_all, train_table)
from casestudy.stages.distill.verdict import (Verdict, control_of, opening, skill_table, targets_intro, untrained_start,
                                              verdict)

__all__ = ["COMPETITOR", "CONTROL", "KINDS", "PROGRAM", "PUBLIC", "SKILL_FAMILY", "TEACHER", "Harvest", "Metrics",
           "OrdinaryRow", "Params", "SkillRow", "ordinary_table", "ordinary_texts", "teacher_kept",
           "StudentMetrics", "StudentPlan", "Verdict", "Workspace", "accuracy_by_family", "architecture",
           "closed_families", "control_of", "curves", "evaluate_all", "family_accuracy", "headline", "logprob_facts",
           "open_workspace", "opening", "optional", "plans", "samples_table", "skill_rows", "skill_table",
           "skipped_students", "stage_metrics", "student_metrics", "targets_intro", "train_all", "train_table", "untrained_start", "verdict"]
