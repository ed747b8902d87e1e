"""Notebook 04's stage: the provider's tests on the suspects, with controls, targets and metrics.

    params     Params: the notebook's parameters, checked; the recipe of the dose and evasion students
    workspace  the Workspace: the run's folders, the deployment (its key), notebook 02's suspects, the tokenizer
    queries    the investigator's watermark queries and identity probes, and the suspects answering them
    watermark  1 · radioactivity: p-values against queries, the final table, the main suspect, calibration
    dose       2 · dose and response: students trained on a growing watermarked share, and their tests
    identity   3 · identity probes: each model's rate naming the provider, with intervals and Fisher's test
    anomaly    4 · traffic: the anomaly detector over the ledger's accounts, its ROC and replay
    scrubbing  5 · evasion: the identity scrubbed from the training data, both arms tested
    mistakes   6 · copied mistakes: the teacher screened on fresh skill prompts, suspects' copies of its errors
    evidence   7 · every suspect through every test, and the conviction rule
    summary    the targets, the line above them, and the summary table of every test
    metrics    Metrics: the metrics.json contract (typed rows), stage_metrics, its headline

The suspects are notebook 02's students plus students trained here (dose and evasion);
each one is served as a black box and queried by the investigator (scenario.investigator).
The tests themselves are in detection/; this package strings them together, decides the
targets and writes metrics.json. The notebook builds `Params` from its parameters cell,
opens the `Workspace` (the run, the deployment's key, the suspects, the public tokenizer),
and passes both to each step; `stage_metrics` returns the stage's `Metrics`.

The steps reach a suspect through this package's `ask_model` and train a student through its
`train_student` (looked up here when called), so a test that replaces `detect.ask_model` or
`detect.train_student` replaces them for every step.
"""

from casestudy.detection.radioactivity import PairScorer
from casestudy.distiller.students.train import train_student
from casestudy.provider.posttrain.identity import PROVIDER_IDENTITY
from casestudy.scenario.investigator import ask_model
from casestudy.stages.detect.anomaly import REPLAY_CHECKPOINTS, Traffic, traffic
from casestudy.stages.detect.evidence import TESTS, convictions, evidence_table, evidence_targets, roles, verdicts
from casestudy.stages.detect.dose import dose_answers, dose_size, dose_table, train_dose_student, train_splits
from casestudy.stages.detect.identity import identity_by_language, identity_table, probe_answers, probe_rates
from casestudy.stages.detect.metrics import (Calibration, DoseRow, EvasionRow, EvidenceRow, IdentityRow, Metrics,
                                             MistakeRow, RadioactivityRow, as_records, headline, stage_metrics)
from casestudy.stages.detect.mistakes import Screen, mistakes_table, screen_teacher
from casestudy.stages.detect.params import DEVICES, Params, check_count, check_open_unit
from casestudy.stages.detect.queries import Queries, ask_students, query_sets
from casestudy.stages.detect.scrubbing import EVASION_COLUMNS, Evasion, evasion
from casestudy.stages.detect.summary import summary_table, targets, targets_intro
from casestudy.stages.detect.watermark import (QUERY_CHECKPOINTS, calibrate, checkpoints, final_table, final_view,
                                               main_suspect, radioactivity)
from casestudy.stages.detect.workspace import Workspace, open_workspace, suspects, suspects_table

__all__ = ["DEVICES", "EVASION_COLUMNS", "PROVIDER_IDENTITY", "QUERY_CHECKPOINTS", "REPLAY_CHECKPOINTS", "TESTS",
           "Calibration", "DoseRow", "Evasion", "EvasionRow", "EvidenceRow", "IdentityRow", "Metrics", "MistakeRow",
           "PairScorer", "Params", "Queries", "RadioactivityRow", "Screen", "Traffic", "Workspace", "as_records",
           "convictions", "evidence_table", "evidence_targets", "mistakes_table", "roles", "screen_teacher", "verdicts", "ask_model", "ask_students", "calibrate",
           "check_count", "check_open_unit", "checkpoints", "dose_answers", "dose_size", "dose_table", "evasion",
           "final_table", "final_view", "headline", "identity_by_language", "identity_table", "main_suspect", "open_workspace",
           "probe_answers", "probe_rates", "query_sets", "radioactivity", "stage_metrics", "suspects",
           "suspects_table", "summary_table", "targets", "targets_intro", "traffic", "train_dose_student",
           "train_splits", "train_student"]
