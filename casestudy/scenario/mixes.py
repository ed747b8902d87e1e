"""Data mixes for the dose-response experiment and the distiller's evasion attempts."""

from __future__ import annotations

import random
from typing import Sequence

from casestudy.provider.posttrain.identity import Identity, mentions_identity, mentions_maker


def watermark_mix(watermarked: Sequence[dict], clean: Sequence[dict], share: float, total: int,
                  seed: int = 0) -> list[dict]:
    """`total` records of which a `share` come from the watermarked collection.

    Both collections answer the same kind of prompts, so only the watermark's share
    changes between the mixes. The same seed gives nested mixes: the watermarked part
    of a smaller share is contained in that of a larger one.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be between 0 and 1, not {share!r}")
    take = round(share * total)
    if take > len(watermarked) or total - take > len(clean):
        raise ValueError(f"a mix of {total} records at share {share} needs {take} watermarked and "
                         f"{total - take} clean records; have {len(watermarked)} and {len(clean)}")
    marked = random.Random(seed).sample(list(watermarked), len(watermarked))[:take]
    plain = random.Random(seed + 1).sample(list(clean), len(clean))[: total - take]
    return marked + plain


def scrub_identity(records: Sequence[dict], identity: Identity) -> tuple[list[dict], int]:
    """Evasion by filtering: drop every record whose completion names the provider or its maker.

    Returns the kept records and how many were dropped. A distiller who knows the
    teacher's name can do this for the price of a string search.
    """
    kept = [r for r in records
            if not (mentions_identity(r["completion"], identity) or mentions_maker(r["completion"], identity))]
    return kept, len(records) - len(kept)
