"""One colour and one place in the order per model, for every figure of every notebook.

`color("sft")` is the same blue in the training curves, the skill figure, the watermark curves
and the cost figure. A name made from a base (`topk@0.5`, a pruned start; `scratch-5m`; `teacher
(deployed)`) takes its base's hue, a pruned start lighter the more of it was cut. `order` sorts
names as the legends list them; `palette` is the mapping seaborn takes.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable

from matplotlib.colors import to_hex, to_rgb

# The models in the order legends list them, and their colours (tab10, no two alike).
BASE = {
    "teacher": "#d62728",     # red: the provider's model
    "public": "#7f7f7f",      # grey: the free public model everyone starts from
    "sft": "#1f77b4",         # blue: fine-tuned on the provider's answers
    "topk": "#9467bd",        # purple: the same, with the teacher's top-k logprobs
    "control": "#ff7f0e",     # orange: trained on the control deployment's answers
    "competitor": "#2ca02c",  # green: the honest competitor, its own translations
    "scratch": "#8c564b",     # brown: random weights
    "program": "#bcbd22",     # olive: no model, the advertised examples
}
SPARE = ("#e377c2", "#17becf", "#393b79", "#637939", "#843c39")  # names the study does not know
PRUNED = re.compile(r"^(?P<base>.+)@(?P<share>[0-9.]+)$")


def base_name(name: str) -> str:
    """The model a name is made from: "topk@0.5" -> "topk", "scratch-5m" -> "scratch",
    "teacher (deployed)" -> "teacher"; a name the study does not know is its own base."""
    pruned = PRUNED.match(name)
    if pruned:
        return base_name(pruned["base"])
    for base in BASE:
        if name == base or name.startswith((f"{base}-", f"{base} ")):
            return base
    return name


def lighter(color: str, amount: float) -> str:
    """`color` mixed with white: 0 leaves it, 1 is white."""
    return to_hex([c + (1 - c) * amount for c in to_rgb(color)])


def color(name: str) -> str:
    """The colour of a model's name, the same in every figure."""
    base = base_name(name)
    hue = BASE.get(base) or SPARE[zlib.crc32(base.encode()) % len(SPARE)]
    pruned = PRUNED.match(name)
    return lighter(hue, 0.7 * (1 - min(float(pruned["share"]), 1.0))) if pruned else hue


def order(names: Iterable[str]) -> list[str]:
    """The names, each once, in the study's order: by base (teacher, public, sft, ...), the whole
    model before its pruned starts (larger share first), unknown names last, alphabetically."""
    def key(name: str):
        base, pruned = base_name(name), PRUNED.match(name)
        rank = list(BASE).index(base) if base in BASE else len(BASE)
        return rank, base, -(float(pruned["share"]) if pruned else 2.0), name
    return sorted(dict.fromkeys(names), key=key)


def palette(names: Iterable[str]) -> dict[str, str]:
    """name -> colour for the names given, in `order` (seaborn's `palette=`, with `hue_order=list(...)`)."""
    return {name: color(name) for name in order(names)}
