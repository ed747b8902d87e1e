"""Grade completions against gold answers, and put 95% intervals on accuracies.

Open families (e.g. "factual") are correct when a gold answer appears as whole words in
the normalised completion. Translation families ("translation") are correct when the
Veltan words after the answer's last "Veltan:" are the gold sentence, word for word
(`casestudy.answers`), so a worked answer is judged by its result. Closed families (e.g. "sentiment": positive/negative) are
correct when the first label the completion mentions is the gold one, so "positive,
not negative" is positive and naming both labels does not score by luck.
"""

from __future__ import annotations

import warnings
from typing import Iterable, Sequence

import pandas as pd
from sklearn.metrics import balanced_accuracy_score

from casestudy.answers import find_words, first_label, is_translation, normalize
from casestudy.intervals import mcnemar, proportion_ci  # noqa: F401 - also imported from here (stages.distill)

CLOSED_FAMILIES: dict[str, tuple[str, ...]] = {"sentiment": ("positive", "negative")}
TRANSLATION_FAMILIES = ("translation",)


def grade(completion: str, gold: Sequence[str] | None, family: str | None = None) -> bool | None:
    """True/False against the gold answers; None when the prompt has no gold."""
    if not gold:
        return None
    if family in CLOSED_FAMILIES:
        return predicted_label(completion, family) in {normalize(g) for g in gold}
    if family in TRANSLATION_FAMILIES:
        return any(is_translation(completion, g) for g in gold)
    hay = normalize(completion)
    return any(find_words(g, hay) >= 0 for g in gold)


def predicted_label(completion: str, family: str) -> str:
    """The first label of a closed family that the completion mentions, or "none"."""
    return first_label(completion, CLOSED_FAMILIES[family])


def balanced(truth: pd.Series, predicted: pd.Series) -> float:
    with warnings.catch_warnings():  # "none" is a prediction no gold answer has: expected, not a problem
        warnings.simplefilter("ignore", UserWarning)
        return float(balanced_accuracy_score(truth, predicted))


def closed_family_table(rows: Iterable[dict], by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Per group and closed family: balanced accuracy, the labels given, and the majority-label rate.

    Accuracy alone flatters a model that always gives the same label: it scores the share
    of that label among the gold answers. Balanced accuracy (mean recall per gold label) is
    1/len(labels) for any constant answer, whatever the mix.
    rows: dicts with the `by` keys, "family", "gold" and "completion".
    """
    df = pd.DataFrame([r for r in rows if r.get("family") in CLOSED_FAMILIES and r.get("gold")])
    columns = [*by, "family", "n", "balanced_accuracy", "labels_given", "majority_rate"]
    if df.empty:
        return pd.DataFrame(columns=columns)
    df["truth"] = [normalize(g[0]) for g in df["gold"]]
    df["predicted"] = [predicted_label(c, f) for c, f in zip(df["completion"], df["family"])]
    out = []
    for key, g in df.groupby([*by, "family"], sort=False):
        given = sorted(set(g["predicted"]) - {"none"})
        out.append({**dict(zip([*by, "family"], key)), "n": len(g),
                    "balanced_accuracy": balanced(g["truth"], g["predicted"]),
                    "labels_given": ", ".join(given) or "none",
                    "majority_rate": g["truth"].value_counts(normalize=True).iloc[0]})
    return pd.DataFrame(out, columns=columns)


def chance_level(family: str | None) -> float:
    """Accuracy of guessing: 1/len(choices) for closed families, 0 for open answers."""
    choices = CLOSED_FAMILIES.get(family or "")
    return 1.0 / len(choices) if choices else 0.0


def accuracy_table(rows: Iterable[dict], by: Sequence[str] = ("model",), method: str = "wilson") -> pd.DataFrame:
    """Accuracy with a 95% interval per group and family, plus family "all".

    rows: dicts with the `by` keys, "family" and "correct" (bool; None rows are skipped).
    """
    df = pd.DataFrame([r for r in rows if r.get("correct") is not None])
    if df.empty:
        return pd.DataFrame(columns=[*by, "family", "n", "correct", "accuracy", "ci_low", "ci_high", "chance"])
    df["correct"] = df["correct"].astype(bool)
    both = pd.concat([df, df.assign(family="all")])
    out = []
    for key, g in both.groupby([*by, "family"], sort=False):
        k, n = int(g["correct"].sum()), len(g)
        lo, hi = proportion_ci(k, n, method)
        fam = key[-1]
        out.append({**dict(zip([*by, "family"], key)), "n": n, "correct": k, "accuracy": k / n,
                    "ci_low": lo, "ci_high": hi, "chance": chance_level(fam) if fam != "all" else float("nan")})
    return pd.DataFrame(out)
