"""Point labels that do not print over each other: points close together on the page share one label."""

from __future__ import annotations

import math
from collections.abc import Iterable


def shared_labels(points: Iterable[tuple[float, float, str]], close_x: float, close_y: float,
                  log_x: bool = False, log_y: bool = False) -> list[tuple[float, float, str]]:
    """(x, y, "a, b") per group of points, from (x, y, name) triples: taken by x then y, a point joins
    the first group with a point within `close_x` and `close_y` of it (in decades on a log axis). A
    group's label sits at its first x and its highest y, and names its points in the order given."""
    scale = lambda v, log: math.log10(v) if log else v
    near = lambda a, b: (abs(scale(a[0], log_x) - scale(b[0], log_x)) <= close_x
                         and abs(scale(a[1], log_y) - scale(b[1], log_y)) <= close_y)
    groups: list[list[tuple[float, float, str, int]]] = []
    for point in sorted(((x, y, name, i) for i, (x, y, name) in enumerate(points)), key=lambda p: (p[0], p[1])):
        group = next((g for g in groups if any(near(point, member) for member in g)), None)
        if group is None:
            groups.append([point])
        else:
            group.append(point)
    return [(g[0][0], max(p[1] for p in g), ", ".join(p[2] for p in sorted(g, key=lambda p: p[3]))) for g in groups]


def unclutter(fig, notes: list, step: float = 11.0, tries: int = 12) -> None:
    """Move each annotation (placed with offset points) up by `step` points until its box overlaps none
    placed before it; call it once the figure is laid out."""
    renderer = fig.canvas.get_renderer()
    placed = []
    for note in notes:
        for _ in range(tries):
            box = note.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in placed):
                break
            x, y = note.xyann
            note.xyann = (x, y + step)
        placed.append(note.get_window_extent(renderer))


def overlapping(fig, notes: list) -> list[tuple[str, str]]:
    """The pairs of annotations whose boxes overlap (the tests' check that no label prints over another)."""
    renderer = fig.canvas.get_renderer()
    boxes = [(n.get_text(), n.get_window_extent(renderer)) for n in notes]
    return [(a, b) for i, (a, box) in enumerate(boxes) for b, other in boxes[i + 1:] if box.overlaps(other)]
