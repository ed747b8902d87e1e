"""This run's cost: the measured and estimated tables (`analyse_run` -> `RunCost`), their views for
the notebook, and the scaling grid at our measured tokens per sample."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from casestudy.cost.compute import HardwareAssumptions, stage_cost_table
from casestudy.cost.headline import (Architecture, collection_flops, estimate_training, provider_cost,
                                     student_cost_table)
from casestudy.cost.prices import AnnotationPrice, PricePoint, api_bill
from casestudy.cost import sides
from casestudy.cost.sides import COMPETITOR, DISTILLER, PROVIDER, Route, api_route, translation_route
from casestudy.cost.scaling import log_range, measured_points, scaling_grid, tokens_per_sample
from casestudy.stages.collect import Metrics as CollectMetrics
from casestudy.stages.cost.inputs import RunInputs
from casestudy.stages.cost.params import Params

SAMPLE_MARKS = {"Alpaca 52K": 52_000}  # and R1's sample count, from the R1 data assumptions


@dataclass
class RunCost:
    """The measured and estimated cost tables of one run, and the assumptions they were made with."""

    stages: pd.DataFrame     # measured device time, USD and kWh per stage
    api_bills: pd.DataFrame  # the collection's API bill at every price point, per arm
    flops: pd.DataFrame      # generation and training FLOPs
    teacher: dict            # the teacher's pre-training, estimated from 6·N·D
    provider: dict           # what the provider spent: pre-training (estimated) and post-training (measured)
    students: pd.DataFrame   # each trained student's copied skill and what it cost the distiller
    collection_usd: float    # the main arm's API bill at the headline price point
    price_point: PricePoint  # the headline price point
    hardware: HardwareAssumptions
    routes: list[Route]      # created, copied, built: each route to the skill, priced alike (empty: not all ran)
    annotation: AnnotationPrice


def api_bill_table(collect: CollectMetrics, price_points: list[PricePoint]) -> pd.DataFrame:
    """The API bill of each collection arm at each dated price point."""
    return pd.DataFrame([
        {"arm": arm_name, "price point": point.name, "as of": point.as_of, "prompt_tokens": arm.prompt_tokens,
         "completion_tokens": arm.completion_tokens, "usd": api_bill(arm.prompt_tokens, arm.completion_tokens, point)}
        for arm_name, arm in collect.arms().items() for point in price_points
    ])


def flops_table(collect: CollectMetrics, students: pd.DataFrame, teacher: Architecture) -> pd.DataFrame:
    """Generation FLOPs per collection arm and training FLOPs per student."""
    rows = [{"what": f"generation, {name} arm", "params": collect.teacher_params,
             "tokens": arm.prompt_tokens + arm.completion_tokens,
             "flops": collection_flops(arm.model_dump(), collect.teacher_params, teacher)}
            for name, arm in collect.arms().items()]
    rows += [{"what": f"training, {row.student}", "params": row.params, "tokens": row.train_tokens,
              "flops": row.training_flops}
             for row in students.itertuples()]
    return pd.DataFrame(rows)


def analyse_run(inputs: RunInputs, params: Params, price_points: list[PricePoint]) -> RunCost | None:
    """All the run's cost tables; None when an earlier stage has not run (see `inputs.message()`)."""
    if not inputs.complete:
        return None
    hw, teacher, price_point = params.hardware(), params.teacher_architecture(), params.price_point(price_points)
    # The cost layer cannot import the stages: it reads their metrics as plain mappings.
    collect, distill = inputs.collect.model_dump(), inputs.distill.model_dump()
    teacher_cost = estimate_training(inputs.collect.teacher_params, params.teacher_train_tokens, teacher, hw)
    teacher_cost.update(params=inputs.collect.teacher_params, tokens=params.teacher_train_tokens)
    students = student_cost_table(collect, distill, teacher, hw, price_point, teacher_cost)
    provider = provider_cost(collect, teacher_cost, hw)
    return RunCost(
        stages=stage_cost_table(collect, distill, hw, inputs.timings),
        api_bills=api_bill_table(inputs.collect, price_points),
        flops=flops_table(inputs.collect, students, teacher),
        teacher=teacher_cost,
        provider=provider,
        students=students,
        collection_usd=api_bill(inputs.collect.prompt_tokens, inputs.collect.completion_tokens, price_point),
        price_point=price_point,
        hardware=hw,
        routes=skill_routes(inputs, students, provider, params.annotation(), price_point),
        annotation=params.annotation(),
    )


def skill_routes(inputs: RunInputs, students: pd.DataFrame, provider: dict, price: AnnotationPrice,
                 price_point: PricePoint) -> list[Route]:
    """The provider's, the best distilled student's (notebook 02's verdict) and the honest competitor's routes
    to the skill, each
    with its data (translations at `price`, or the API bill) and its measured compute; [] when one is missing."""
    distill, post = inputs.distill, inputs.collect.post_training
    best, competitor = (students[students.student == name] for name in (distill.best_student, "competitor"))
    if best.empty or competitor.empty or post is None or distill.teacher_skill is None:
        return []
    best, competitor = best.iloc[0], competitor.iloc[0]
    return [translation_route(PROVIDER, post.skill_examples or 0, post.skill_words, provider["post_training_usd"],
                              distill.teacher_skill.accuracy, price, model="teacher"),
            api_route(DISTILLER, inputs.collect.main.records, best.api_usd, price_point.label,
                      best.measured_training_usd, best.skill_accuracy, model=best.student),
            translation_route(COMPETITOR, distill.competitor_sentences, distill.competitor_words,
                              competitor.measured_training_usd, competitor.skill_accuracy, price, model="competitor")]


def api_bills_by_price(cost: RunCost) -> pd.DataFrame:
    """The API bills as price points (rows) by arm (columns)."""
    return cost.api_bills.pivot_table(index=["price point", "as of"], columns="arm", values="usd", sort=False)


STUDENT_COLUMNS = ["student", "start", "arm", "params", "trainable_params", "skill_accuracy", "copied_share",
                   "api_usd", "training_usd", "measured_training_usd", "distiller_usd"]


def students_table(cost: RunCost) -> pd.DataFrame:
    return cost.students[STUDENT_COLUMNS]


def routes_table(cost: RunCost) -> pd.DataFrame:
    """The three routes to the skill: data, compute, total and the skill reached (empty when not all ran)."""
    if not cost.routes:
        return pd.DataFrame()
    return sides.routes_table(cost.routes, cost.routes[0].skill_accuracy)


def spending_table(cost: RunCost) -> pd.DataFrame:
    """Each side's spending against the share of the skill it reached (`sides.spending`): the cost figure's points."""
    return sides.spending(cost.students, cost.routes, cost.provider["post_training_usd"])


def provider_table(cost: RunCost) -> pd.DataFrame:
    return pd.Series(cost.provider, name="the provider's spend").to_frame()


@dataclass
class Scaling:
    grid: pd.DataFrame             # cost per sample count and student size
    points: pd.DataFrame           # our students
    marks: dict[str, float]        # published sample counts marked on the figure


def scaling(cost: RunCost, inputs: RunInputs, params: Params) -> Scaling:
    """What collection plus distillation would cost as samples and the student grow, at our measured
    tokens per sample, the headline price point and `scaling_epochs` of training."""
    records = inputs.collect.records
    prompt_per_sample, completion_per_sample = tokens_per_sample(inputs.collect.main.model_dump())
    grid = scaling_grid(log_range(min(100, records), params.scaling_max_samples), params.scaling_student_params,
                        prompt_per_sample, completion_per_sample, params.scaling_epochs, cost.price_point,
                        cost.hardware)
    return Scaling(grid, measured_points(cost.students, records),
                   {**SAMPLE_MARKS, "R1 800K": params.r1_data().samples})
