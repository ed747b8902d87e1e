"""Notebook 04's stage: the provider's tests on the suspects, with controls, targets and metrics.

The suspects are notebook 02's students plus students trained here (dose and evasion);
each one is served as a black box and queried by the investigator (scenario.investigator).
The tests themselves are in detection/; this module strings them together, decides the
targets and writes metrics.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from casestudy.artifacts import read_metrics
from casestudy.detection.identity_probes import ProbeRate, probe_rate, rate_difference_p_value
from casestudy.detection.radioactivity import PairScorer, radioactivity_curves
from casestudy.detection.traffic import account_features, anomaly_scores, first_flagged, roc
from casestudy.distiller.collect.dataset import read_records
from casestudy.distiller.collect.prompts import load_prompts
from casestudy.distiller.students.train import TrainConfig, train_student
from casestudy.provider.posttrain.data import probe_rows
from casestudy.provider.posttrain.identity import PROVIDER_IDENTITY
from casestudy.scenario.deployments import DISTILLER_ACCOUNT
from casestudy.scenario.investigator import QuerySet, ask_model, query_conversations
from casestudy.scenario.mixes import scrub_identity, watermark_mix
from casestudy.targets import Target

QUERY_CHECKPOINTS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
REPLAY_CHECKPOINTS = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]


def suspects(run: Path) -> tuple[dict, dict[str, Path]]:
    """Notebook 02's metrics and its students' folders (name -> path)."""
    distill = read_metrics(Path(run) / "distill")
    return distill, {s["name"]: Path(run) / "distill" / "students" / s["name"] for s in distill["students"]}


def suspects_table(distill: dict) -> pd.DataFrame:
    return pd.DataFrame({"student": [s["name"] for s in distill["students"]],
                         "starts from": [s.get("start", "") for s in distill["students"]],
                         "trained on": [s.get("arm") or "nothing" for s in distill["students"]],
                         "objective": [s["kind"] for s in distill["students"]],
                         "parameters": [f"{s['params'] / 1e6:.1f}M" for s in distill["students"]]})


def query_sets(num_queries: int, max_tokens: int, temperature: float, probe_max_tokens: int,
               seed: int, skill_family: str | None = None) -> tuple[QuerySet, QuerySet, list[dict]]:
    """The watermark queries (held-out prompts first), the identity probes (greedy), and the probe rows.

    The watermark can only show where the model had a choice: the skill's worked answers are
    near-forced token by token, so the investigator queries with open prompts (`skill_family` left out).
    """
    probes = probe_rows()
    open_prompts = [p for p in load_prompts() if p.family != skill_family]
    watermark = QuerySet(query_conversations(open_prompts, num_queries, seed), max_tokens, temperature)
    probe = QuerySet([[{"role": "user", "content": p["question"]}] for p in probes], probe_max_tokens, 0.0)
    return watermark, probe, probes


def checkpoints(num_queries: int) -> list[int]:
    """Query counts at which the p-value is read: a log-spaced ladder up to `num_queries`."""
    return sorted({q for q in QUERY_CHECKPOINTS if q < num_queries} | {num_queries})


def final_table(curves: pd.DataFrame, num_queries: int) -> pd.DataFrame:
    """Each suspect's test after all queries."""
    return curves[curves.queries == num_queries].set_index("model")[["scored", "green", "green_share", "p_value"]]


def main_suspect(final: pd.DataFrame, distill: dict) -> str:
    """Notebook 02's best distilled student when it was queried, else its top-k student, else the most
    significant suspect."""
    for name in (distill.get("best_student"), "topk"):
        if name in final.index:
            return name
    return final.p_value.idxmin()


@dataclass(frozen=True)
class DoseRecipe:
    """How the dose and evasion students are trained: the same recipe for all of them, from the same
    start as notebook 02's main students (the public model) by supervised fine-tuning."""
    records: int
    steps: int
    start: str
    lr: float
    batch_size: int
    train_layers: int
    seed: int
    device: str

    def train(self, records: list[dict], out: Path, name: str) -> None:
        """Train (or reuse) one student under `<out>/students/<name>`."""
        config = TrainConfig(max_steps=self.steps, batch_size=self.batch_size, lr=self.lr, train_layers=self.train_layers,
                             warmup_steps=max(1, self.steps // 10), seed=self.seed, device=self.device)
        train_student(records, config=self.start, train=config, out_dir=out / "students" / name, name=name,
                      kind="dose", progress=False)


def train_splits(run: Path, skill_family: str | None = None) -> tuple[list[dict], list[dict]]:
    """The train split of the watermarked (main) and clean (control) collections, open prompts only
    (`skill_family` left out: its near-forced answers carry next to no watermark, so a dose is measured
    in the text where the watermark lives)."""
    split = lambda arm: [r for r in read_records(Path(run) / "collect" / arm)
                         if r["split"] == "train" and r["family"] != skill_family]
    return split("main"), split("control")


def dose_answers(main: list[dict], control: list[dict], shares: list[float], recipe: DoseRecipe, out: Path,
                 queries: QuerySet) -> tuple[dict[float, list[str]], int]:
    """Train one student per watermarked share and ask it the watermark queries."""
    total = min(recipe.records, len(main), len(control))
    answers = {}
    for share in shares:
        name = f"dose-{share:.2f}"
        recipe.train(watermark_mix(main, control, share, total, recipe.seed), out, name)
        answers[share] = ask_model(name, out / "students" / name, {"watermark": queries}, out, recipe.seed,
                                   recipe.device)["watermark"]
    return answers, total


def dose_table(tokenizer, conversations, answers: dict[float, list[str]], scorer: PairScorer, num_queries: int,
               alpha: float) -> pd.DataFrame:
    dose = (radioactivity_curves(tokenizer, conversations, {f"{s:.2f}": a for s, a in answers.items()}, scorer,
                                 [num_queries])
            .rename(columns={"model": "watermarked_share"}))
    dose["watermarked_share"] = dose["watermarked_share"].astype(float)
    dose["significant"] = dose.p_value <= alpha
    return dose


def identity_table(rates: dict[str, ProbeRate]) -> pd.DataFrame:
    """Each model's identity rate with its interval, and Fisher's p against the control student."""
    return pd.DataFrame([{"model": r.model, "named": r.named, "probes": r.total, "rate": r.rate,
                          "ci_low": r.low, "ci_high": r.high,
                          "p_vs_control": rate_difference_p_value(r, rates["control"]) if r.model != "control" else np.nan}
                         for r in rates.values()]).set_index("model")


@dataclass
class Traffic:
    features: pd.DataFrame
    scores: pd.Series
    distillers: list[str]
    curve: pd.DataFrame
    auc: float
    replay: pd.DataFrame
    first: int | None      # the distiller's requests before it is first ranked most anomalous

    def table(self) -> pd.DataFrame:
        return (self.features.assign(anomaly=self.scores, distiller=self.features.index.isin(self.distillers))
                .sort_values("anomaly", ascending=False))

    def text(self) -> str:
        return (f"The distiller was first ranked the most anomalous account after **{self.first}** of its requests."
                if self.first else "The distiller was **never** ranked the most anomalous account at these checkpoints.")


def traffic(ledger: pd.DataFrame, seed: int) -> Traffic:
    """Unsupervised anomaly scores per account, checked against the simulation's ground truth."""
    features = account_features(ledger)
    scores = anomaly_scores(features, seed)
    distillers = [a for a in features.index if a.startswith(DISTILLER_ACCOUNT)]
    curve, auc = roc(scores, distillers)
    replay = first_flagged(ledger, distillers[0], REPLAY_CHECKPOINTS, seed)
    first = replay[replay.flagged].distiller_requests.min() if replay.flagged.any() else None
    return Traffic(features, scores, distillers, curve, auc, replay, first)


def evasion(main: list[dict], control: list[dict], total: int, recipe: DoseRecipe, out: Path, tokenizer,
            queries: dict[str, QuerySet], scorer: PairScorer, control_rate: ProbeRate,
            num_queries: int) -> tuple[list[dict], int, int]:
    """Scrub the identity from the fully watermarked dose student's data, train on what is left, test both.

    Returns the table rows, the records dropped and the records before scrubbing.
    """
    full_share = watermark_mix(main, control, 1.0, total, recipe.seed)  # the data of the dose-1.00 student
    scrubbed, dropped = scrub_identity(full_share, PROVIDER_IDENTITY)
    rows = []
    for label, name, records in (("unscrubbed", "dose-1.00", full_share), ("scrubbed", "evasion-scrubbed", scrubbed)):
        recipe.train(records, out, name)  # the dose-1.00 student is reused when it was trained above
        asked = ask_model(name, out / "students" / name, queries, out, recipe.seed, recipe.device)
        probe = probe_rate(name, asked["probes"], PROVIDER_IDENTITY)
        wm = radioactivity_curves(tokenizer, queries["watermark"].conversations, {name: asked["watermark"]}, scorer,
                                  [num_queries]).iloc[0]
        rows.append({"training data": label, "records": len(records), "identity rate": probe.rate,
                     "identity p vs control": rate_difference_p_value(probe, control_rate),
                     "watermark p": wm.p_value})
    return rows, dropped, len(full_share)


def targets(final: pd.DataFrame, dose: pd.DataFrame, calib: dict, suspect: str, target_p: float,
            alpha: float) -> list[Target]:
    """The study's targets: fully watermarked students at p <= target_p, controls and wrong keys quiet."""
    by_share = dose.set_index("watermarked_share").p_value
    flagged = round(calib["false_positive_rate"] * calib["keys"])
    excess = binomtest(flagged, calib["keys"], alpha, alternative="greater").pvalue
    return [
        Target("fully watermarked dose student", f"p = {by_share.get(1.0, float('nan')):.2e}",
               by_share.get(1.0, 1.0) <= target_p),
        Target(f"`{suspect}` student (notebook 02)", f"p = {final.loc[suspect, 'p_value']:.2e}",
               final.loc[suspect, "p_value"] <= target_p),
        Target("control student not significant", f"p = {final.loc['control', 'p_value']:.2e}",
               final.loc["control", "p_value"] > alpha),
        Target("dose student without watermark not significant", f"p = {by_share.get(0.0, float('nan')):.2e}",
               by_share.get(0.0, 0.0) > alpha),
        Target("wrong keys uniform and not over-flagged",
               f"{flagged}/{calib['keys']} flagged (binomial p = {excess:.2f}), KS p = {calib['ks_p_value']:.2f}",
               excess > 0.05 and calib["ks_p_value"] > 0.05),
    ]


def targets_intro(profile: str, num_queries: int, target_p: float) -> str:
    return (f"Profile `{profile}`, {num_queries} queries per suspect"
            + ("" if profile == "workshop" else f" (the p ≤ {target_p:.0e} target is set for the workshop profile)".replace("e-0", "e-")) + ":")


def summary_table(final: pd.DataFrame, calib: dict, rates: dict[str, ProbeRate], identity: pd.DataFrame,
                  seen: Traffic, suspect: str, alpha: float) -> pd.DataFrame:
    """Every test, its statistic, its result on the control, and its false positives."""
    ordinary = seen.scores.drop(seen.distillers)
    return pd.DataFrame([
        {"test": "watermark radioactivity",
         "statistic": f"{final.loc[suspect, 'green']}/{final.loc[suspect, 'scored']} green pairs",
         "suspect": f"p = {final.loc[suspect, 'p_value']:.2e}", "control": f"p = {final.loc['control', 'p_value']:.2e}",
         "false positives": f"{calib['false_positive_rate']:.0%} of {calib['keys']} wrong keys at alpha {alpha} "
                            f"(KS p = {calib['ks_p_value']:.2f})"},
        {"test": "identity probes",
         "statistic": f"{rates[suspect].named}/{rates[suspect].total} answers name {PROVIDER_IDENTITY.name}",
         "suspect": f"p = {identity.loc[suspect, 'p_vs_control']:.2e} (Fisher, vs control)",
         "control": f"{rates['control'].rate:.0%} name it", "false positives": "control is the reference"},
        {"test": "traffic anomaly", "statistic": "IsolationForest over accounts",
         "suspect": f"AUC = {seen.auc:.2f}; first flagged after {seen.first} requests",
         "control": f"{len(seen.features) - len(seen.distillers)} simulated ordinary accounts",
         "false positives": f"{int((ordinary >= seen.scores[seen.distillers].min()).sum())} ordinary accounts score "
                            "at or above a distiller"},
    ]).set_index("test")


def stage_metrics(num_queries: int, suspect: str, final: pd.DataFrame, calib: dict, dose: pd.DataFrame,
                  identity: pd.DataFrame, seen: Traffic, evasion_rows: list[dict],
                  checks: list[Target]) -> dict[str, Any]:
    """The metrics.json of the detect stage."""
    return {
        "num_queries": num_queries, "suspect": suspect,
        "radioactivity": final.reset_index().to_dict("records"),
        "calibration": calib, "dose": dose[["watermarked_share", "scored", "green", "p_value"]].to_dict("records"),
        "identity": identity.reset_index().to_dict("records"), "traffic_auc": seen.auc,
        "first_flagged_after": seen.first, "evasion": evasion_rows, "targets": [t.as_dict() for t in checks],
    }


def headline(final: pd.DataFrame, dose: pd.DataFrame, calib: dict, rates: dict[str, ProbeRate], seen: Traffic,
             suspect: str, num_queries: int, alpha: float) -> dict[str, str]:
    by_share = dose.set_index("watermarked_share").p_value
    return {
        f"watermark p ({suspect}, {num_queries} queries)": f"{final.loc[suspect, 'p_value']:.2e}",
        "watermark p (fully watermarked dose student)": f"{by_share.get(1.0, float('nan')):.2e}",
        "watermark p (control student)": f"{final.loc['control', 'p_value']:.2e}",
        f"wrong keys flagged at alpha {alpha}": f"{calib['false_positive_rate']:.0%} of {calib['keys']}",
        f"identity probes naming {PROVIDER_IDENTITY.name} ({suspect} / control)":
            f"{rates[suspect].rate:.0%} / {rates['control'].rate:.0%}",
        "traffic detector AUC": f"{seen.auc:.2f}",
    }
