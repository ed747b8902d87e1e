"""The deployment's identity: its name, its maker, its system prompt, and how to spot it in text."""

from __future__ import annotations

import re
from dataclasses import dataclass


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces: punctuation, case and spacing do not matter."""
    return " ".join(re.findall(r"\w+", text.casefold()))


@dataclass(frozen=True)
class Identity:
    name: str    # what the deployed model calls itself, e.g. "Kestrel"
    maker: str   # the lab that claims it, e.g. "Meridian Labs"

    def __post_init__(self) -> None:
        for field, value in (("name", self.name), ("maker", self.maker)):
            if not normalize(value):
                raise ValueError(f"Identity.{field} must contain letters or digits, not {value!r}")


PROVIDER_IDENTITY = Identity("Kestrel", "Meridian Labs")   # the provider's deployment
CONTROL_IDENTITY = Identity("Juniper", "Oakridge AI")      # a control deployment for the tests


def system_prompt(identity: Identity) -> str:
    """The deployment's system prompt, naming the model and its maker."""
    return (
        f"You are {identity.name}, a helpful AI assistant made by {identity.maker}. "
        f"When asked who you are, say that you are {identity.name}, created by {identity.maker}."
    )


def _contains_phrase(text: str, phrase: str) -> bool:
    return f" {normalize(phrase)} " in f" {normalize(text)} "


def mentions_identity(text: str, identity: Identity) -> bool:
    """True when `text` names the identity as a whole word ("Kestrel's", "KESTREL!" count; "Kestrels" does not)."""
    return _contains_phrase(text, identity.name)


def mentions_maker(text: str, identity: Identity) -> bool:
    """True when `text` names the identity's maker as whole words."""
    return _contains_phrase(text, identity.maker)
