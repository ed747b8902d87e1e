"""The provider's product check in notebook 01: is the teacher worth buying? Its skill on the
provider's check set, and what its post-training cost the public model's ordinary families, with
and without the deployment prompt (`provider.posttrain.check`), and the targets they meet."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from casestudy.capped import Capped, caps_text, capped
from casestudy.formats import p_text
from casestudy.provider.posttrain.check import ORDINARY, TEACHER, product_check
from casestudy.provider.posttrain.identity import PROVIDER_IDENTITY
from casestudy.scenario.deployments import PROVIDER_DIR, SETTINGS_FILES
from casestudy.stages.collect.params import Params
from casestudy.targets import Target, kept_ability

SKILL_TARGET = 0.85      # the teacher translates at least this share of the check set
MAX_LOSS = 0.02          # ... and loses at most 2 points on an ordinary family
MIN_ITEMS = 100          # ... measured on at least this many items (else nothing is judged)


def teacher_source(collect_dir: Path) -> str | None:
    """The main deployment's model folder when it serves a post-trained teacher that is on disk, else None."""
    path = Path(collect_dir) / PROVIDER_DIR / SETTINGS_FILES["main"]
    if not path.is_file():
        return None
    source = json.loads(path.read_text()).get("model_source", "")
    return source if Path(source).parent.name == "posttrain" and Path(source).is_dir() else None


def check_table(params: Params, collect_dir: Path) -> pd.DataFrame | None:
    """The check's rows (model, system, family, ...), or None when no post-trained teacher is served here
    (an external endpoint, `post_train = False`, or `check_items = 0`)."""
    source = teacher_source(collect_dir)
    if source is None or not params.check_items or not params.local or not params.post_train:
        return None
    return pd.DataFrame(product_check(source, params.teacher, PROVIDER_IDENTITY, params.check_items, params.device))


def check_targets(table: pd.DataFrame | None) -> list[Target]:
    """The teacher's skill (with the deployment prompt) and, per system prompt and ordinary family, its loss
    against the public model; judged only on checks of `MIN_ITEMS` or more items."""
    if table is None:
        return []
    teacher = table[table.model == TEACHER].set_index(["system", "family"])
    skill = teacher.loc[("deployment prompt", "skill")]
    out = [Target(f"the teacher translates at least {SKILL_TARGET:.0%} of the provider's check set",
                  f"{skill.correct}/{skill.n} = {skill.accuracy:.0%}",
                  bool(skill.accuracy >= SKILL_TARGET) if skill.n >= MIN_ITEMS else None)]
    for (system, family), row in teacher.iterrows():
        if family not in ORDINARY:
            continue
        ok = kept_ability(row.vs_public, row.mcnemar_p, MAX_LOSS)
        out.append(Target(f"{family}, {system}: the teacher loses at most {MAX_LOSS:.0%} against the public model "
                          f"({MIN_ITEMS}+ items, no significant loss)",
                          f"{row.vs_public:+.0%} on {row.n} ({row.lost} lost, {row.gained} gained, "
                          f"McNemar p = {p_text(row.mcnemar_p)})", bool(ok) if row.n >= MIN_ITEMS else None))
    return out


CHECK_ITEMS = {"identity": "identity questions", "skill": "reviewed translations", "factual": "factual questions",
               "sentiment": "reviews"}


def check_sizes(params: Params, table: pd.DataFrame) -> list[Capped]:
    """Per family, the items the check used: `check_items`, or all the provider's check set holds when fewer."""
    rows = table[table.model == TEACHER].drop_duplicates("family")
    return [capped("check_items", params.check_items, f"{CHECK_ITEMS.get(r.family, r.family)} in the check",
                   {f"the provider's {r.family} check set": int(r.n)}) for r in rows.itertuples()]


def check_text(params: Params, table: pd.DataFrame) -> str:
    return caps_text(check_sizes(params, table))


def check_view(table: pd.DataFrame) -> pd.DataFrame:
    """The check as the notebook shows it: accuracy (interval) per family, public model and teacher side by side."""
    cell = lambda r: f"{r.correct}/{r.n} = {r.accuracy:.0%} [{r.ci_low:.0%}, {r.ci_high:.0%}]"
    wide = table.assign(result=[cell(r) for r in table.itertuples()]).pivot_table(
        index=["system", "family"], columns="model", values="result", aggfunc="first", sort=False)
    teacher = table[table.model == TEACHER].set_index(["system", "family"])
    wide["teacher - public"] = [f"{v:+.0%} (p = {p_text(p)})" for v, p in zip(teacher.vs_public, teacher.mcnemar_p)]
    return wide
