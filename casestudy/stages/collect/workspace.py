"""The stage's Workspace (its folder, the dated price table, the teacher) and the run's prompts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casestudy.capped import Capped, capped
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


def control_size(params: Params, prompts: list[Prompt]) -> Capped:
    """The control arm's prompts: the first `control_prompts` of the run's, or all of them when it has fewer."""
    return capped("control_prompts", params.control_prompts, "prompts for the control arm",
                  {"the run's prompt list": len(prompts)})


def control_prompts(params: Params, prompts: list[Prompt]) -> list[Prompt]:
    """The prompts the control arm asks: a prefix of the run's (which keeps its mix of families)."""
    return prompts[: control_size(params, prompts).used]


def gold_check_sizes(params: Params, pool: list[Prompt]) -> list[Capped]:
    """Per ordinary gold family, the held-out prompts asked: `gold_checks`, or all the pool holds when fewer."""
    families = sorted({p.family for p in pool if p.gold and p.family != SKILL_FAMILY})
    return [capped("gold_checks", params.gold_checks, f"held-out {family} prompts",
                   {"the prompt pool": sum(p.family == family and p.split == "eval" for p in pool)})
            for family in families]
