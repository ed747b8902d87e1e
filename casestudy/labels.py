"""Point labels that do not print over each other: points close together on the page share one label."""

from __future__ import annotations

import math
from collections.abc import Iterable


def shared_labels(points: Iterable[tuple[float, float, str]], close_x: float, close_y: float,
                  log_x: bool = False, log_y: bool = False) -> list[tuple[float, float, str]]:
    """(x, y, "a, b") per group of points, from (x, y, name) triples: sorted by x then y, a point joins
    the group before it when it lies within `close_x` and `close_y` of that group's last point (in
    decades on a log axis). A group's label sits at its first x and its highest y."""
    scale = lambda v, log: math.log10(v) if log else v
    groups: list[list[tuple[float, float, str]]] = []
    for point in sorted(points, key=lambda p: (p[0], p[1])):
        last = groups[-1][-1] if groups else None
        if (last is not None and abs(scale(point[0], log_x) - scale(last[0], log_x)) <= close_x
                and abs(scale(point[1], log_y) - scale(last[1], log_y)) <= close_y):
            groups[-1].append(point)
        else:
            groups.append([point])
    return [(g[0][0], max(p[1] for p in g), ", ".join(p[2] for p in g)) for g in groups]
