"""How the study reads an answer, the same for the provider's checks and the distiller's grading.

A rule reads what an answer states, not what it repeats from the question: the Veltan
words after the last "Veltan:" of a translation, not the English it was asked about.
"""

from __future__ import annotations

import re

LANGUAGE = "Veltan"


def veltan_words(text: str) -> list[str]:
    """The words an answer gives as its Veltan: after the last "Veltan:", else its last line; lower case."""
    parts = re.split(rf"{LANGUAGE}\s*:", text or "", flags=re.IGNORECASE)
    tail = parts[-1] if len(parts) > 1 else (text or "").strip().rsplit("\n", 1)[-1]
    return re.findall(r"[a-z]+", tail.strip().split("\n")[0].lower())


def is_translation(answer: str, gold: str) -> bool:
    """True when the Veltan an answer states is the gold translation, word for word."""
    return veltan_words(answer) == gold.lower().split()
