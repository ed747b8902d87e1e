"""Three routes to the same skill, priced alike: the provider created it, the distiller copied it
through the API, the honest competitor built it from its own data.

Each route's cost is its data plus its compute. Data: the provider and the competitor pay
translators per English word (a modelled price, `AnnotationPrice`, with its source); the
distiller pays the API bill of what it asked (a dated price point). Compute: the device time
each route's training took on this run's machine (measured), priced by the hardware table.
The pre-training underneath is the public model's, the same for all three and paid by none
of them; its estimated cost is shown beside, not added.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from casestudy.cost.prices import AnnotationPrice

PROVIDER, DISTILLER, COMPETITOR = "provider (created)", "distiller (copied)", "honest competitor (built)"


@dataclass(frozen=True)
class Route:
    """One route to the skill: what its data and compute cost and how much of the skill it reached."""

    who: str
    data: str              # what the data was, in words
    data_usd: float
    data_basis: str        # "modelled: <price> per word" or "API bill at <price point>"
    compute_usd: float     # measured device time, priced
    skill_accuracy: float
    words: int = 0         # English words translated for it (0: its data was bought through the API)
    model: str = ""        # the model that reached the skill (its colour in the figures)

    @property
    def total_usd(self) -> float:
        return self.data_usd + self.compute_usd


def translation_route(who: str, items: int, english_words: int, compute_usd: float, accuracy: float,
                      price: AnnotationPrice, model: str = "") -> Route:
    """A route paid for in translations: `items` sentences of `english_words` words at `price`."""
    return Route(who, f"{items:,} sentences translated ({english_words:,} English words)",
                 english_words * price.usd_per_word, f"modelled: ${price.usd_per_word:g} per word ({price.name}, "
                 f"{price.as_of})", compute_usd, accuracy, english_words, model)


def api_route(who: str, records: int, api_usd: float, price_label: str, compute_usd: float, accuracy: float,
              model: str = "") -> Route:
    return Route(who, f"{records:,} API answers", api_usd, f"API bill at {price_label}", compute_usd, accuracy,
                 model=model)


def routes_table(routes: list[Route], teacher_accuracy: float) -> pd.DataFrame:
    """One row per route: data, compute and total USD, the skill reached and its share of the teacher's."""
    return pd.DataFrame([{"route": r.who, "model": r.model, "data": r.data, "data USD": r.data_usd,
                          "data priced as": r.data_basis,
                          "compute USD (measured)": r.compute_usd, "total USD": r.total_usd,
                          "skill accuracy": r.skill_accuracy,
                          "share of the teacher's": r.skill_accuracy / teacher_accuracy if teacher_accuracy else float("nan")}
                         for r in routes]).set_index("route")


def ratios(copy: Route, create: Route, build: Route) -> dict[str, float]:
    """The copy's cost as a fraction of creating and of building the skill."""
    return {"copy / create": copy.total_usd / create.total_usd if create.total_usd else float("nan"),
            "copy / build": copy.total_usd / build.total_usd if build.total_usd else float("nan")}


def break_even(copy: Route, build: Route) -> dict[str, float]:
    """Where copying stops paying against building: the per-word translation price at which building costs
    what copying does, and the factor by which the API's prices would have to rise for copying to cost
    what building does."""
    per_word = (copy.total_usd - build.compute_usd) / build.words if build.words else float("nan")
    api_factor = (build.total_usd - copy.compute_usd) / copy.data_usd if copy.data_usd else float("nan")
    return {"per-word price at break-even (USD)": per_word, "API price factor at break-even": api_factor}


SPENDING_COLUMNS = ["side", "model", "label", "share", "data_usd", "compute_usd", "usd"]


def spending(students: pd.DataFrame, routes: list[Route], post_training_usd: float = 0.0) -> pd.DataFrame:
    """What each side spent against the share of the provider's skill gain it reached (the provider's
    own: 1). The provider: its translations and post-training (the post-training alone without the
    routes); each distilled student: its arm's API bill and its training's measured device time; the
    honest competitor: its translations and training (left out without the routes, which price them)."""
    rows = []
    create, build = (routes[0], routes[2]) if len(routes) == 3 else (None, None)
    if create is not None:
        rows.append(("provider", "teacher", "provider: translations + post-training", 1.0, create.data_usd,
                     create.compute_usd))
    elif post_training_usd > 0:
        rows.append(("provider", "teacher", "provider: post-training only", 1.0, 0.0, post_training_usd))
    for row in students.dropna(subset=["copied_share"]).itertuples():
        if row.arm == "competitor":
            if build is not None:
                rows.append(("competitor", row.student, "competitor: translations + training", row.copied_share,
                             build.data_usd, build.compute_usd))
        else:
            rows.append(("distiller", row.student, row.student, row.copied_share, row.api_usd,
                         row.measured_training_usd))
    frame = pd.DataFrame(rows, columns=SPENDING_COLUMNS[:-1])
    return frame.assign(usd=frame.data_usd + frame.compute_usd)
