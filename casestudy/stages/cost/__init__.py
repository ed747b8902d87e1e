"""Notebook 03's stage: recompute the published cases, read what the earlier stages wrote, measure the
run's cost, write its metrics.

    params    Params: the notebook's parameters, checked; the hardware, teacher and R1 assumptions they make
    inputs    RunInputs (the earlier stages' metrics, timings), the Workspace, the price tables as frames
    cases     the published cases recomputed: DeepSeek-V3's bill, R1's distillation data, Alpaca's budget
    tables    this run's cost: analyse_run and RunCost, the API bills, FLOPs, students, the scaling grid
    texts     the prose: money and percentages, the teacher's cost, the three routes to the skill, the
              headline and its caveats
    seeds     the published run-to-run spread over seeds: read, summarised, in one sentence
    metrics   Metrics: the metrics.json contract (typed records), the targets, stage_metrics, its headline

The published cases (cost.published) need no run; this run's part needs collect/ and
distill/ metrics (`collect.Metrics`, `distill.Metrics`), and reads the runner's timings.json
when present. `Params` is the notebook's parameters cell: it builds the hardware
assumptions, the teacher's architecture and the R1 data assumptions the cost layer takes.
"""

from casestudy.stages.cost.cases import (DAVINCI, O1_PRICE, R1_PRICE, alpaca_text, r1_against_v3_text, r1_bill,
                                         r1_text, v3_checks_text, v3_left_out_text, v3_table, v3_text)
from casestudy.stages.cost.inputs import (STAGE_NOTEBOOKS, TIMINGS_FILE, RunInputs, Workspace, hardware_price_table,
                                          load_run_inputs, open_workspace, price_table)
from casestudy.stages.cost.metrics import (ApiBill, Metrics, ProviderSpend, RouteCost, StageCost, StudentCost,
                                           TeacherCost, V3Figure, stage_metrics, targets)
from casestudy.stages.cost.params import Params
from casestudy.stages.cost.seeds import (is_p_value, published_spread, read_spread, seeds_and_devices,
                                         spread_sentence, spread_summary, spread_text, spread_value)
from casestudy.stages.cost.tables import (SAMPLE_MARKS, STUDENT_COLUMNS, RunCost, Scaling, analyse_run,
                                          api_bill_table, api_bills_by_price, flops_table, provider_table,
                                          routes_table, scaling, spending_table, students_table)
from casestudy.stages.cost.texts import caveats, headline_text, percent_text, routes_text, teacher_text, usd_text

__all__ = ["DAVINCI", "O1_PRICE", "R1_PRICE", "SAMPLE_MARKS", "STAGE_NOTEBOOKS", "STUDENT_COLUMNS", "TIMINGS_FILE",
           "ApiBill", "Metrics", "Params", "ProviderSpend", "RouteCost", "RunCost", "RunInputs", "routes_table", "routes_text",
           "Scaling", "StageCost", "StudentCost", "TeacherCost", "V3Figure", "Workspace", "alpaca_text", "analyse_run",
           "api_bill_table", "api_bills_by_price", "caveats", "flops_table", "hardware_price_table", "headline_text",
           "is_p_value", "load_run_inputs", "open_workspace", "percent_text", "price_table", "provider_table",
           "published_spread", "r1_against_v3_text", "r1_bill", "r1_text", "read_spread", "scaling",
           "seeds_and_devices", "spending_table", "spread_sentence", "spread_summary", "spread_text", "spread_value", "stage_metrics",
           "students_table", "targets", "teacher_text", "usd_text", "v3_checks_text", "v3_left_out_text", "v3_table",
           "v3_text"]
