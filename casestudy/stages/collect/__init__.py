"""Notebook 01's stage: deploy the provider locally (or use any endpoint), collect both arms, write metrics.

    params      Params: the notebook's parameters, checked; FROZEN_MATCH, those a frozen collection shares
    workspace   the Workspace: the stage's folder, the dated price table, the teacher; the run's prompts
    collection  run_collection: both arms from the local deployments (with simulated customers) or an endpoint
    restore     a frozen collection: its archive, checked against the notebook's settings, unpacked
    result      ArmResult and StageResult: what was collected or restored, arm by arm
    harvest     the main arm's records and top-k logprobs, an example, the provider's ledger
    metrics     Metrics: the metrics.json contract (typed records), stage_metrics, its targets and headline
    tables      the prompts per family and split, the arms side by side, their bills
    texts       the notebook's prose: the prompts chosen, the data used, what was collected, the summary
    product     the provider's product check: its teacher against the public model, the targets it meets

With an empty `base_url` the provider's two deployments (scenario.deployments) run as
server processes; the distiller collects the main arm while simulated ordinary customers
(scenario.customers) use the same API, then the control arm. The distiller itself only
gets a base URL and an API key. An arm already complete for the same settings and prompts
is not collected again; an interrupted one is resumed.

With `source = "frozen"` (or the path of an archive) nothing is served or collected: a
frozen collection (scenario.frozen) made by the same settings is checked and unpacked
into `collect/`, and only the provider's post-training is rebuilt (cached) for notebook 04.

`Params` is the notebook's parameters cell; `Metrics` is its metrics.json, read by
notebooks 03 and 04 (`Metrics.read(<run>/collect)`) and packed with a frozen collection.
"""

from casestudy.provider.posttrain.skill import FAMILY as SKILL_FAMILY
from casestudy.stages.collect.collection import collect_external, collect_settings, run_collection
from casestudy.stages.collect.product import check_sizes, check_table, check_targets, check_text, check_view
from casestudy.stages.collect.harvest import LedgerView, ledger_view, logprob_example, main_records, main_topk
from casestudy.stages.collect.metrics import (ArmMetrics, FrozenSource, LiveSource, Metrics, PostTraining, Source,
                                              TeacherRebuilt, TrafficRow, arm_metrics, bills, headline,
                                              post_training_record, source_record, stage_metrics, targets)
from casestudy.stages.collect.params import (DEVICES, FROZEN_MATCH, LOCAL_KEY_ENV, MAX_TEMPERATURE, MAX_TOP_LOGPROBS,
                                             Params)
from casestudy.stages.collect.restore import check_frozen, frozen_archive, restore_frozen
from casestudy.stages.collect.result import ArmResult, StageResult
from casestudy.stages.collect.tables import ARM_COLUMNS, arms_table, bill_table, prompts_table
from casestudy.stages.collect.texts import collected_text, prompts_text, sizes_text, source_text, summary_text
from casestudy.stages.collect.workspace import (Workspace, choose_prompts, control_prompts, control_size, flagship,
                                              gold_check_sizes, open_workspace)

__all__ = ["check_sizes", "check_table", "check_targets", "check_text", "check_view", "control_prompts",
           "control_size", "gold_check_sizes", "sizes_text", "ARM_COLUMNS", "DEVICES", "FROZEN_MATCH", "LOCAL_KEY_ENV", "MAX_TEMPERATURE", "MAX_TOP_LOGPROBS",
           "SKILL_FAMILY", "ArmMetrics", "ArmResult", "FrozenSource", "LedgerView", "LiveSource", "Metrics", "Params",
           "PostTraining", "Source", "StageResult", "TeacherRebuilt", "TrafficRow", "Workspace", "arm_metrics",
           "arms_table", "bill_table", "bills", "check_frozen", "choose_prompts", "collect_external",
           "collect_settings", "collected_text", "flagship", "frozen_archive", "headline", "ledger_view",
           "logprob_example", "main_records", "main_topk", "open_workspace", "post_training_record", "prompts_table",
           "prompts_text", "restore_frozen", "run_collection", "source_record", "source_text", "stage_metrics",
           "summary_text", "targets"]
