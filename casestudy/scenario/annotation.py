"""The translation work both labs buy, written to data/skill/ (the staging's simulation of paid humans).

    python -m casestudy.scenario.annotation      # rewrites data/skill/*.jsonl (deterministic)

Five disjoint sets of sentences, drawn in this order so that no set repeats another's:
  prompts.jsonl's "translation" family   the distiller's questions (it writes English freely)
  provider_translations.jsonl            the provider's purchase: its post-training data
  provider_check.jsonl                   the provider's check set, translated and reviewed (the truth)
  competitor_translations.jsonl          the honest competitor's purchase from its own team
  advertised.jsonl                       the few examples on the provider's product page (public)

A row: {id, english, phrases: [[english, veltan] for subject, object, verb], veltan}. The
provider's and the competitor's teams slip independently (`language.Translators`); how each
lab writes its answers from a row is its own house style, not part of the purchase.
"""

from __future__ import annotations

import json
from pathlib import Path

from casestudy.paths import DATA_DIR
from casestudy.scenario.language import Sentence, Translation, Translators, sentences, translate

SKILL_DATA_DIR = DATA_DIR / "skill"
FAMILY = "translation"
PROMPT_SENTENCES = 2500       # the distiller's questions (data/prompts/build_prompts.py)
PROVIDER_ITEMS = 1600         # more than any profile's post-training uses
CHECK_ITEMS = 200             # the provider's held-out check
COMPETITOR_ITEMS = 2500       # more than any profile's harvest holds
PROVIDER_TEAM = Translators("provider-translators", slip_rate=0.03)
COMPETITOR_TEAM = Translators("competitor-translators", slip_rate=0.03)
ADVERTISED_ITEMS = 3          # the examples on the provider's product page
FILES = {"provider": "provider_translations.jsonl", "check": "provider_check.jsonl",
         "competitor": "competitor_translations.jsonl", "advertised": "advertised.jsonl"}


def english_phrases(s: Sentence) -> tuple[str, str, str]:
    subject = " ".join(w for w in ("the", s.subject_adjective, s.subject) if w)
    obj = " ".join(w for w in ("the", s.object_adjective, s.object) if w)
    return subject, obj, s.verb


def row(prefix: str, number: int, s: Sentence, t: Translation) -> dict:
    subject, obj, verb = english_phrases(s)
    return {"id": f"{prefix}-{number:04d}", "english": s.english,
            "phrases": [[subject, " ".join(t.subject)], [obj, " ".join(t.object)], [verb, t.verb]], "veltan": t.text}


def draws() -> dict[str, list[Sentence]]:
    """The four sets of sentences, disjoint, each from its own seed."""
    out, taken = {}, frozenset()
    for name, count in (("prompts", PROMPT_SENTENCES), ("provider", PROVIDER_ITEMS), ("check", CHECK_ITEMS),
                        ("competitor", COMPETITOR_ITEMS), ("advertised", ADVERTISED_ITEMS)):
        out[name] = sentences(count, f"veltan:{name}", exclude=taken)
        taken = taken | {s.key for s in out[name]}
    return out


def purchases() -> dict[str, list[dict]]:
    """The rows of each file in data/skill/."""
    sets = draws()
    return {
        "provider": [row("provider", i, s, t) for i, (s, t) in
                     enumerate(zip(sets["provider"], PROVIDER_TEAM.annotate(sets["provider"])), 1)],
        "check": [row("check", i, s, translate(s)) for i, s in enumerate(sets["check"], 1)],
        "competitor": [row("competitor", i, s, t) for i, (s, t) in
                       enumerate(zip(sets["competitor"], COMPETITOR_TEAM.annotate(sets["competitor"])), 1)],
        "advertised": [row("advertised", i, s, translate(s)) for i, s in enumerate(sets["advertised"], 1)],
    }


def load(name: str, data_dir: Path = SKILL_DATA_DIR) -> list[dict]:
    """Rows of one purchase ("provider", "check", "competitor")."""
    if name not in FILES:
        raise ValueError(f"no skill data named {name!r}; choose from {sorted(FILES)}")
    path = Path(data_dir) / FILES[name]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write(data_dir: Path = SKILL_DATA_DIR) -> list[Path]:
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in purchases().items():
        path = Path(data_dir) / FILES[name]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path.relative_to(DATA_DIR.parent))
