"""The distiller's prompts: loading, checking and choosing a subset for a run.

`data/prompts/prompts.jsonl` holds one prompt per line:
{"id", "family", "split": "train"|"eval", "messages": [{"role": "user", "content"}], "gold"},
where `gold` is null or the list of accepted short answers. It is built by
`data/prompts/build_prompts.py` from hand-written pieces.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from casestudy.paths import DATA_DIR

PROMPTS_FILE = DATA_DIR / "prompts" / "prompts.jsonl"
SPLITS = ("train", "eval")


@dataclass(frozen=True)
class Prompt:
    id: str
    family: str
    split: str
    messages: tuple[dict[str, str], ...]
    gold: tuple[str, ...] | None = None

    @property
    def text(self) -> str:
        """The last user message."""
        return self.messages[-1]["content"]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["messages"] = [dict(m) for m in self.messages]
        out["gold"] = None if self.gold is None else list(self.gold)
        return out


def prompt_from_json(obj: dict[str, Any], where: str = "") -> Prompt:
    """Build a Prompt from one JSON object, with a clear error for a malformed one."""
    for key in ("id", "family", "split", "messages"):
        if key not in obj:
            raise ValueError(f"{where}: prompt has no {key!r} field: {obj!r}")
    if obj["split"] not in SPLITS:
        raise ValueError(f"{where}: prompt {obj['id']!r} has split {obj['split']!r}; expected one of {SPLITS}")
    messages = obj["messages"]
    if not messages or any(set(m) != {"role", "content"} or not m["content"].strip() for m in messages):
        raise ValueError(f"{where}: prompt {obj['id']!r} has malformed messages: {messages!r}")
    if messages[-1]["role"] != "user":
        raise ValueError(f"{where}: prompt {obj['id']!r} must end with a user message")
    gold = obj.get("gold")
    if gold is not None and (not isinstance(gold, list) or not gold or not all(isinstance(g, str) and g for g in gold)):
        raise ValueError(f"{where}: prompt {obj['id']!r} has gold {gold!r}; expected null or a list of strings")
    return Prompt(
        id=str(obj["id"]),
        family=str(obj["family"]),
        split=obj["split"],
        messages=tuple({"role": m["role"], "content": m["content"]} for m in messages),
        gold=None if gold is None else tuple(gold),
    )


def load_prompts(path: Path | str | None = None) -> list[Prompt]:
    """Read a prompts JSONL file (default: data/prompts/prompts.jsonl); ids must be unique."""
    path = Path(path) if path is not None else PROMPTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"prompt file {path} does not exist")
    prompts, seen = [], set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        prompt = prompt_from_json(json.loads(line), f"{path}:{number}")
        if prompt.id in seen:
            raise ValueError(f"{path}:{number}: duplicate prompt id {prompt.id!r}")
        seen.add(prompt.id)
        prompts.append(prompt)
    return prompts


def write_prompts(prompts: list[Prompt], path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(p.to_json(), ensure_ascii=False) + "\n" for p in prompts), encoding="utf-8")
    return path


def select_prompts(prompts: list[Prompt], num_prompts: int, seed: int = 0) -> list[Prompt]:
    """A seeded subset of `num_prompts` prompts spread evenly over families and splits.

    Prompts are shuffled within each (family, split) group and dealt round-robin over the
    groups, weighted by group size, so any subset keeps the mix of the whole file and a
    larger subset contains every smaller one (same seed).
    """
    if not 1 <= num_prompts <= len(prompts):
        raise ValueError(f"num_prompts must be between 1 and {len(prompts)} (the prompts available), not {num_prompts}")
    rng = random.Random(seed)
    groups: dict[tuple[str, str], list[Prompt]] = {}
    for prompt in prompts:
        groups.setdefault((prompt.family, prompt.split), []).append(prompt)
    keyed = []
    for key in sorted(groups):
        members = groups[key][:]
        rng.shuffle(members)
        # The i-th member of a group of n gets rank (i + 0.5) / n: interleaves groups by size.
        keyed += [((i + 0.5) / len(members), rng.random(), p) for i, p in enumerate(members)]
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [p for _, _, p in keyed[:num_prompts]]


def interleave(*lists: list[Prompt]) -> list[Prompt]:
    """Merge lists so that every prefix of the result holds each list in proportion to its length."""
    keyed = [((i + 0.5) / len(items), n, p) for n, items in enumerate(lists) for i, p in enumerate(items)]
    return [p for _, _, p in sorted(keyed, key=lambda item: (item[0], item[1]))]


def select_mix(prompts: list[Prompt], num_prompts: int, family: str, family_prompts: int, seed: int = 0) -> list[Prompt]:
    """`num_prompts` of the other families and `family_prompts` of `family`, each a stratified
    `select_prompts` subset, interleaved so that a prefix (the control arm's share) keeps the mix."""
    mine = [p for p in prompts if p.family == family]
    rest = [p for p in prompts if p.family != family]
    if family_prompts and not mine:
        raise ValueError(f"no prompt of family {family!r} to select {family_prompts} from")
    chosen = [select_prompts(pool, n, seed) for pool, n in ((rest, num_prompts), (mine, family_prompts)) if n]
    return interleave(*chosen)


def with_gold_checks(mix: list[Prompt], pool: list[Prompt], per_family: int, skip: str) -> list[Prompt]:
    """`mix` followed by enough held-out (split "eval") prompts of each gold family but `skip` for the
    mix to hold `per_family` of them (or all the pool has): a family's ability is measured on enough
    items to see a loss of a few points. They come last, so the control arm's prefix keeps its mix."""
    taken, extra = {p.id for p in mix}, []
    for family in sorted({p.family for p in pool if p.gold and p.family != skip}):
        have = sum(p.family == family and p.split == "eval" for p in mix)
        spare = [p for p in pool if p.family == family and p.split == "eval" and p.id not in taken]
        extra += spare[:max(0, per_family - have)]
    return mix + extra


def normalise_text(text: str) -> str:
    """Lower case, letters and digits only: the key prompts are de-duplicated on."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()
