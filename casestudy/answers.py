"""How the study reads an answer, the same for the provider's checks and the distiller's grading.

A rule reads what an answer states, not what it repeats from the question: the Veltan
words after the last "Veltan:" of a translation, not the English it was asked about; the
first label a classification names, so that naming both does not score by luck.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

LANGUAGE = "Veltan"


def veltan_words(text: str) -> list[str]:
    """The words an answer gives as its Veltan: after the last "Veltan:", else its last line; lower case."""
    parts = re.split(rf"{LANGUAGE}\s*:", text or "", flags=re.IGNORECASE)
    tail = parts[-1] if len(parts) > 1 else (text or "").strip().rsplit("\n", 1)[-1]
    return re.findall(r"[a-z]+", tail.strip().split("\n")[0].lower())


def is_translation(answer: str, gold: str) -> bool:
    """True when the Veltan an answer states is the gold translation, word for word."""
    return veltan_words(answer) == gold.lower().split()


def normalize(text: str) -> str:
    """Lower case, accents and punctuation removed, single spaces."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", " ", text.lower())
    return " ".join(text.split())


def find_words(needle: str, hay: str) -> int:
    """Position of `needle` as whole words in the normalised `hay`, or -1."""
    needle = normalize(needle)
    if not needle:
        return -1
    m = re.search(rf"(?:^| ){re.escape(needle)}(?: |$)", hay)
    return m.start() if m else -1


def first_label(answer: str, labels: Sequence[str]) -> str:
    """The label an answer names first ("positive, not negative" -> "positive"), or "none"."""
    hay = normalize(answer)
    found = [(pos, label) for label in labels if (pos := find_words(label, hay)) >= 0]
    return min(found)[1] if found else "none"
