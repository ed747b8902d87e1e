"""What a collection holds: the main arm's records, their top-k logprobs, an example, the provider's ledger."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from casestudy.detection.traffic import ledger_accounts, ledger_timeline
from casestudy.distiller.collect.dataset import read_records, read_topk
from casestudy.provider.ledger import read_ledger
from casestudy.scenario import deployments
from casestudy.stages.collect.params import Params


def main_records(collect_dir: Path) -> list[dict]:
    return read_records(Path(collect_dir) / "main")


def main_topk(collect_dir: Path) -> dict:
    return read_topk(Path(collect_dir) / "main")


def logprob_example(records: list[dict], topk: dict) -> dict:
    """A record of an open family that has its top-k logprobs (else the first record)."""
    return next((r for r in records if r["family"] not in ("sentiment", "factual") and r["id"] in topk), records[0])


@dataclass
class LedgerView:
    timeline: pd.DataFrame   # chat requests over time, distiller or simulated customer
    accounts: pd.DataFrame   # per account: requests, tokens, logprob use, conversation depth


def ledger_view(params: Params, collect_dir: Path) -> LedgerView | None:
    """The provider's ledger of a local collection (None for an external endpoint: its operator keeps it)."""
    path = deployments.ledger_path(collect_dir)
    if not params.local or not path.is_file():
        return None
    ledger = read_ledger(path)
    return LedgerView(ledger_timeline(ledger, deployments.DISTILLER_ACCOUNT), ledger_accounts(ledger))
