"""The stage's Workspace (its folder, the dated price table, the teacher) and the run's prompts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casestudy.cost.prices import PricePoint, api_bill, load_price_table
from casestudy.distiller.collect.prompts import Prompt, load_prompts, select_mix, with_gold_checks
from casestudy.models import load_model
from casestudy.paths import run_dir, stage_dir
from casestudy.provider.posttrain.skill import FAMILY as SKILL_FAMILY
from casestudy.stages.collect.params import Params


@dataclass
class Workspace:
    """Where the stage writes, the dated price table, and the teacher loaded on the CPU (its
    tokenizer maps the token bytes the API returns to ids; its size goes into metrics.json)."""

    out: Path
    price_points: list[PricePoint]
    flagship: PricePoint         # the price point the collector's running bill and the headline use
    teacher: Any

    def bill(self, prompt_tokens: int, completion_tokens: int) -> float:
        return api_bill(prompt_tokens, completion_tokens, self.flagship)


def flagship(price_points: list[PricePoint]) -> PricePoint:
    return next(p for p in price_points if p.tier == "flagship")


def open_workspace(params: Params) -> Workspace:
    points = load_price_table()
    return Workspace(stage_dir(run_dir(params.profile), "collect"), points, flagship(points),
                     load_model(params.teacher, device="cpu"))


def choose_prompts(params: Params) -> tuple[list[Prompt], list[Prompt]]:
    """The prompt pool (`prompt_file`, default data/prompts/prompts.jsonl) and the run's stratified mix of
    `num_prompts` ordinary and `skill_prompts` skill prompts, then held-out prompts of the ordinary gold
    families until each has `gold_checks` (`with_gold_checks`)."""
    pool = load_prompts(params.prompt_file or None)
    mix = select_mix(pool, params.num_prompts, SKILL_FAMILY, params.skill_prompts, params.seed)
    return pool, with_gold_checks(mix, pool, params.gold_checks, SKILL_FAMILY)
