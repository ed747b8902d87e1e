"""A count parameter the run could not use in full, said rather than silently reduced.

`dose_records = 300` asks for more records than the train split holds: `capped` returns what
was used and what held fewer, and `Capped.text()` is the sentence the notebook prints, so a
reader never sees a parameter's value where a smaller number was used.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capped:
    """A count parameter: what it asked for, what was used, and what held fewer (empty when nothing did)."""

    name: str      # the parameter, as in the notebook's parameters cell
    asked: int
    used: int
    what: str      # what is counted: "training records per dose student"
    limit: str = ""  # what holds only `used`: "the control arm's train split (open prompts)"

    @property
    def reduced(self) -> bool:
        return self.used < self.asked

    def text(self) -> str:
        """One sentence: the count used, and why it is not the parameter's when it is not."""
        if self.reduced:
            return (f"**{self.used:,} {self.what}**, not the {self.asked:,} of `{self.name}`: {self.limit} "
                    f"holds only {self.used:,}.")
        return f"{self.used:,} {self.what} (`{self.name}` = {self.asked:,})."


def capped(name: str, asked: int, what: str, limits: dict[str, int]) -> Capped:
    """`asked`, or the smallest of `limits` (what holds them, in words -> how many) when that is fewer."""
    limit, held = min(limits.items(), key=lambda item: item[1]) if limits else ("", asked)
    return Capped(name, asked, held, what, limit) if held < asked else Capped(name, asked, asked, what)


def caps_text(caps: list[Capped]) -> str:
    """The sentences of several counts, the reduced ones first."""
    return " ".join(c.text() for c in sorted(caps, key=lambda c: not c.reduced))
