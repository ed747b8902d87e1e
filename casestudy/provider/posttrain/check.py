"""The provider's product check: its tuned model against the public model it started from, on the
provider's own held-out sets, with and without the deployment prompt.

Four families: the identity (held-out identity questions), the skill (the reviewed check set
of translations) and the two ordinary families the post-training must not cost (factual
questions, sentiment reviews). Each row: accuracy with its exact 95% interval and, for the
tuned model, the change against the public model on the same items, the items lost and gained,
and the exact McNemar p-value. Cached beside the tuned model, keyed by the check's inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

from casestudy.artifacts import fingerprint, write_json_atomic
from casestudy.intervals import mcnemar, proportion_ci
from casestudy.models import load_model
from casestudy.provider.posttrain.data import (IDENTITY_DATA_DIR, FACTUAL, HELDOUT_QUESTIONS, SENTIMENT, factual_rows,
                                               heldout_questions, sentiment_rows)
from casestudy.provider.posttrain.evaluate import (DEPLOYMENT, evaluate_identity, factual_eval, heldout_problems,
                                                   sentiment_eval, skill_eval)
from casestudy.provider.posttrain.identity import Identity, system_prompt
from casestudy.provider.posttrain import skill

PUBLIC, TEACHER = "public", "teacher"
SYSTEMS = {"deployment prompt": DEPLOYMENT, "no system message": None}
ORDINARY = ("factual", "sentiment")
CHECK_FILE = "product_check.json"


def graded_items(loaded, identity: Identity, system: str | None, items: int) -> dict[str, list[bool]]:
    """family -> right or wrong per item, for the first `items` of each check set."""
    prompt = system_prompt(identity) if system == DEPLOYMENT else system
    held = evaluate_identity(loaded, identity, heldout_questions()[:items], system_prompt=system)
    translations = skill_eval(loaded, heldout_problems(min(items, 200)), prompt)
    facts = factual_eval(loaded, factual_rows()[:items], prompt)
    reviews = sentiment_eval(loaded, sentiment_rows()[:items], prompt)
    return {"identity": [r["mentions"] for r in held.records], "skill": [r["correct"] for r in translations.records],
            "factual": [r["correct"] for r in facts.records], "sentiment": [r["correct"] for r in reviews.records],
            "sentiment_said": [r["said"] for r in reviews.records],
            "sentiment_gold": [r["gold"] for r in reviews.records]}


def balanced(said: list[str], gold: list[str]) -> float:
    labels = sorted(set(gold))
    return sum(sum(s == g for s, g in zip(said, gold) if g == label) / gold.count(label) for label in labels) / len(labels)


def check_rows(graded: dict[str, dict[str, dict]]) -> list[dict]:
    """Rows (model, system, family, n, correct, accuracy, interval, balanced accuracy, against the public model)."""
    rows = []
    for system in SYSTEMS:
        for family in ("identity", "skill", *ORDINARY):
            base = graded[PUBLIC][system][family]
            for model in (PUBLIC, TEACHER):
                mine = graded[model][system][family]
                k, n = sum(mine), len(mine)
                low, high = proportion_ci(k, n, "exact")
                test = mcnemar(mine, base)
                row = {"model": model, "system": system, "family": family, "n": n, "correct": k, "accuracy": k / n,
                       "ci_low": low, "ci_high": high, "balanced_accuracy": None, "vs_public": k / n - sum(base) / n,
                       "lost": test["only_second"], "gained": test["only_first"], "mcnemar_p": test["p_value"]}
                if family == "sentiment":
                    row["balanced_accuracy"] = balanced(graded[model][system]["sentiment_said"],
                                                        graded[model][system]["sentiment_gold"])
                rows.append(row)
    return rows


def product_check(tuned: str | Path, public: str, identity: Identity, items: int = 200, device: str = "auto",
                  precision: str = "auto") -> list[dict]:
    """The check's rows for the tuned model in `tuned` against the public model `public` (both answered as the
    deployments serve them); reused from `tuned/product_check.json` while the inputs are unchanged."""
    files = [IDENTITY_DATA_DIR / f for f in (HELDOUT_QUESTIONS, FACTUAL, SENTIMENT)] + [
        skill.SKILL_DATA_DIR / skill.CHECK_FILE, Path(tuned) / "model.safetensors"]
    key = fingerprint({"public": public, "identity": [identity.name, identity.maker], "items": items,
                       "precision": precision}, files)
    path = Path(tuned) / CHECK_FILE
    if path.is_file() and (saved := json.loads(path.read_text())).get("key") == key:
        return saved["rows"]
    graded = {}
    for model, source in ((PUBLIC, public), (TEACHER, str(tuned))):
        loaded = load_model(source, device=device, precision=precision)
        graded[model] = {name: graded_items(loaded, identity, system, items) for name, system in SYSTEMS.items()}
    rows = check_rows(graded)
    write_json_atomic(path, {"key": key, "rows": rows})
    return rows
