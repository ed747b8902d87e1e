"""What a competitor gets for free: a program written from the examples on the provider's product page.

The page shows a few translations (data/skill/advertised.jsonl). From them a programmer reads
the word order (subject, object, verb; the adjective after its noun; "-n" on the object) and
the few words they use; any other word it leaves in English, as it cannot know it. Its
accuracy is the share of questions made only of advertised words: what a skill worth buying
looks like from outside.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from casestudy.paths import DATA_DIR

ADVERTISED_FILE = DATA_DIR / "skill" / "advertised.jsonl"
OBJECT_SUFFIX = "n"
SENTENCE = re.compile(r"\bthe (?:(\w+) )?(\w+) (\w+) the (?:(\w+) )?(\w+)\b", re.IGNORECASE)


def advertised_lexicon(path: Path = ADVERTISED_FILE) -> dict[str, str]:
    """English word -> Veltan word, read off the advertised examples' phrases."""
    lexicon = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        for index, (english, veltan) in enumerate(row["phrases"]):
            words, native = english.split(), veltan.split()
            if index == 2:                      # the verb
                lexicon[words[0]] = native[0]
                continue
            noun = native[0][:-len(OBJECT_SUFFIX)] if index == 1 else native[0]
            lexicon[words[-1]] = noun
            if len(words) == 3:                 # "the <adjective> <noun>" -> "<noun> <adjective>"
                lexicon[words[1]] = native[1]
    return lexicon


def program_answer(question: str, lexicon: dict[str, str]) -> str:
    """The program's answer: the sentence in Veltan's order, the words it knows translated."""
    found = SENTENCE.search(question)
    if not found:
        return "Veltan: ?"
    adj1, subject, verb, adj2, obj = (w.lower() if w else None for w in found.groups())
    say = lambda w: lexicon.get(w, w)
    words = [say(subject), *([say(adj1)] if adj1 else []), say(obj) + OBJECT_SUFFIX, *([say(adj2)] if adj2 else []),
             say(verb)]
    return f"Veltan: {' '.join(words)}."
