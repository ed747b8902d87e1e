"""Notebook 04's stage: the provider's tests on the suspects, with controls, targets and metrics.

The suspects are notebook 02's students plus students trained here (dose and evasion);
each one is served as a black box and queried by the investigator (scenario.investigator).
The tests themselves are in detection/; this module strings them together, decides the
targets and writes metrics.json. The notebook builds `Params` from its parameters cell,
opens the `Workspace` (the run, the deployment's key, the suspects, the public tokenizer),
and passes both to each step below; `stage_metrics` returns the stage's `Metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from transformers import AutoTokenizer

from casestudy.detection.identity_probes import ProbeRate, probe_rate, rate_difference_p_value
from casestudy.detection.radioactivity import (PairScorer, calibration, radioactivity_curves, suspect_pairs,
                                               wrong_key_p_values)
from casestudy.detection.traffic import account_features, anomaly_scores, first_flagged, roc
from casestudy.distiller.collect.dataset import read_records
from casestudy.distiller.collect.prompts import load_prompts
from casestudy.distiller.students.student import StudentSpec
from casestudy.distiller.students.train import TrainConfig, train_student
from casestudy.models import resolve_source
from casestudy.paths import run_dir, stage_dir
from casestudy.provider.ledger import read_ledger
from casestudy.provider.posttrain.data import probe_rows
from casestudy.provider.posttrain.identity import PROVIDER_IDENTITY, mentions_identity
from casestudy.provider.settings import ProviderSettings
from casestudy.scenario.deployments import DISTILLER_ACCOUNT, ledger_path, load_deployment
from casestudy.scenario.investigator import QuerySet, ask_model, query_conversations
from casestudy.scenario.mixes import scrub_identity, watermark_mix
from casestudy.stages import distill
from casestudy.stages.contract import Record, StageMetrics, StageParams, check_choice, check_range
from casestudy.targets import Target

QUERY_CHECKPOINTS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
REPLAY_CHECKPOINTS = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]
DEVICES = ("auto", "cpu", "cuda")


def check_count(name: str, value: Any, low: int = 1) -> None:
    """A whole number of at least `low`: a clear error naming the bad value."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    check_range(name, value, low)


def check_open_unit(name: str, value: Any) -> None:
    """A probability strictly between 0 and 1 (a significance level, a target p-value)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in (0, 1), not {value!r}")


@dataclass(frozen=True, kw_only=True)
class Params(StageParams):
    """Notebook 04's parameters (its parameters cell is the one source of their defaults).

    The dose and evasion students share one recipe (`dose_recipe`), from the same start as
    notebook 02's main students (the public model), by supervised fine-tuning.
    """

    NOTEBOOK = "04_detect"

    profile: str
    seed: int
    device: str
    num_queries: int             # prompts sent to each suspect for the watermark test
    query_max_tokens: int        # tokens per suspect answer
    query_temperature: float     # suspects sample, as a customer would see them
    num_wrong_keys: int          # keys that are not the provider's, for the calibration
    alpha: float                 # significance level of every test
    dose_shares: tuple[float, ...]  # watermarked share of the training data of each dose student
    dose_records: int            # training records per dose student
    dose_steps: int              # optimizer steps per dose student
    dose_start: str              # where the dose and evasion students start ("public", "public@0.5", ...)
    dose_lr: float               # their peak learning rate
    dose_batch_size: int         # their packed rows per step
    dose_train_layers: int       # the top decoder layers they train (0: all)
    probe_max_tokens: int        # tokens per identity-probe answer
    target_p: float              # p-value a fully watermarked student must reach

    def __post_init__(self) -> None:
        try:
            if isinstance(self.dose_shares, (str, bytes)):
                raise TypeError
            object.__setattr__(self, "dose_shares", tuple(float(s) for s in self.dose_shares))
        except (TypeError, ValueError):
            raise ValueError(f"dose_shares must be a list of shares in [0, 1], not {self.dose_shares!r}") from None
        if not self.dose_shares:
            raise ValueError("dose_shares must name at least one share, not []")
        for share in self.dose_shares:
            check_range("a dose_shares share", share, 0.0, 1.0)
        if not isinstance(self.profile, str) or not self.profile:
            raise ValueError(f"profile must name a profile, not {self.profile!r}")
        check_count("seed", self.seed, 0)
        check_choice("device", self.device, DEVICES)
        for name in ("num_queries", "query_max_tokens", "num_wrong_keys", "dose_records", "dose_steps",
                     "dose_batch_size", "probe_max_tokens"):
            check_count(name, getattr(self, name))
        check_count("dose_train_layers", self.dose_train_layers, 0)
        check_range("query_temperature", self.query_temperature, 0.0)
        if not self.dose_lr > 0:
            raise ValueError(f"dose_lr must be positive, not {self.dose_lr!r}")
        check_open_unit("alpha", self.alpha)
        check_open_unit("target_p", self.target_p)
        StudentSpec.parse(self.dose_start)  # "public", "public@<share>" or "scratch-<size>", else it says so

    def dose_recipe(self) -> TrainConfig:
        """The training of every dose and evasion student."""
        return TrainConfig(max_steps=self.dose_steps, batch_size=self.dose_batch_size, lr=self.dose_lr,
                           train_layers=self.dose_train_layers, warmup_steps=max(1, self.dose_steps // 10),
                           seed=self.seed, device=self.device)


# ---- metrics.json -------------------------------------------------------------------------------


class RadioactivityRow(Record):
    """One suspect's watermark test after all queries (`final_table`)."""

    model: str
    scored: int                  # distinct (context, token) pairs scored
    green: int                   # of which green under the provider's key
    green_share: float
    p_value: float               # exact binomial tail at the key's green-list ratio


class Calibration(Record):
    """The main suspect's answers scored under wrong keys (detection.radioactivity.calibration)."""

    keys: int
    ks_statistic: float
    ks_p_value: float            # KS test of the wrong keys' p-values against Uniform(0, 1)
    false_positive_rate: float   # share of wrong keys with p <= alpha
    alpha: float


class DoseRow(Record):
    """One dose student: its watermarked share of the training data and its watermark test."""

    watermarked_share: float
    scored: int
    green: int
    p_value: float


class IdentityRow(Record):
    """One model's identity-probe rate with its exact 95% interval (`identity_table`)."""

    model: str
    named: int                   # answers naming the provider's identity
    probes: int
    rate: float
    ci_low: float
    ci_high: float
    p_vs_control: float | None   # one-sided Fisher against the control student; None for the control itself


class EvasionRow(Record):
    """One arm of the evasion attempt (`evasion`)."""

    training_data: str           # "unscrubbed" (the dose-1.00 student) or "scrubbed"
    records: int
    identity_rate: float
    identity_p_vs_control: float
    watermark_p: float


class Metrics(StageMetrics):
    """Notebook 04's metrics.json (the spread reads `suspect`, `radioactivity` and `dose`)."""

    STAGE = "detect"

    num_queries: int
    suspect: str                 # notebook 02's main suspect (`main_suspect`)
    radioactivity: list[RadioactivityRow]
    calibration: Calibration
    dose: list[DoseRow]
    identity: list[IdentityRow]
    traffic_auc: float
    first_flagged_after: int | None  # the distiller's requests before it is first ranked most anomalous
    evasion: list[EvasionRow]
    parameters: dict[str, Any]   # the notebook's parameters (Params.values())

    def p_value(self, model: str | None) -> float | None:
        """A suspect's watermark p-value after all queries (None when it was not queried)."""
        return next((r.p_value for r in self.radioactivity if r.model == model), None)

    def dose_p_value(self, share: float) -> float | None:
        """The dose student's watermark p-value at a watermarked share (None when none was trained)."""
        return next((d.p_value for d in self.dose if d.watermarked_share == share), None)

    def identity_of(self, model: str) -> IdentityRow | None:
        """A model's identity-probe row (None when it was not probed)."""
        return next((r for r in self.identity if r.model == model), None)


def as_records(frame: pd.DataFrame, cls: type[Record]) -> list:
    """A table's rows as `cls` records (its declared columns; NaN as None)."""
    rows = frame[list(cls.model_fields)].to_dict("records")
    return [cls(**{k: None if isinstance(v, float) and np.isnan(v) else v for k, v in row.items()}) for row in rows]


# ---- the suspects --------------------------------------------------------------------------------


def suspects(run: Path) -> tuple[distill.Metrics, dict[str, Path]]:
    """Notebook 02's metrics and its students' folders (name -> path)."""
    distilled = distill.Metrics.read(Path(run) / "distill")
    return distilled, {s.name: Path(run) / "distill" / s.path for s in distilled.students}


def suspects_table(distilled: distill.Metrics) -> pd.DataFrame:
    """Notebook 02's students: where each started, what it was trained on, how, and its size."""
    students = distilled.students
    return pd.DataFrame({"student": [s.name for s in students],
                         "starts from": [s.start for s in students],
                         "trained on": [s.arm or "nothing" for s in students],
                         "objective": [s.kind for s in students],
                         "parameters": [f"{s.params / 1e6:.1f}M" for s in students]})


@dataclass
class Workspace:
    """Where the stage reads and writes, the provider's deployment (it holds the secret key),
    notebook 02's suspects, and the public tokenizer with the key's pair scorer."""
    run: Path
    out: Path
    deployment: ProviderSettings
    distilled: distill.Metrics
    students: dict[str, Path]    # notebook 02's students: name -> folder
    tokenizer: Any
    scorer: PairScorer

    @property
    def skill_family(self) -> str:
        """The skill notebook 02 measured: its near-forced answers are left out of the watermark tests."""
        return self.distilled.skill_family

    def ledger(self) -> pd.DataFrame:
        """The provider's request ledger of notebook 01 (both deployments, every account)."""
        return read_ledger(ledger_path(stage_dir(self.run, "collect")))


def open_workspace(params: Params) -> Workspace:
    """The run's folders, the main deployment's settings, notebook 02's suspects, and the public
    tokenizer (the teacher's, saved with every student)."""
    run = run_dir(params.profile)
    out = stage_dir(run, "detect")
    deployment = load_deployment(stage_dir(run, "collect"))
    distilled, students = suspects(run)
    tokenizer = AutoTokenizer.from_pretrained(students["public"])
    return Workspace(run, out, deployment, distilled, students, tokenizer,
                     PairScorer(deployment.watermark, len(tokenizer)))


# ---- 1 · watermark radioactivity -----------------------------------------------------------------


@dataclass(frozen=True)
class Queries:
    """The investigator's questions: the watermark queries and the identity probes (with their rows)."""
    watermark: QuerySet
    probes: QuerySet
    probe_rows: list[dict]       # each probe's question, language, ...

    def both(self) -> dict[str, QuerySet]:
        """Both sets, as `ask_model` takes them."""
        return {"watermark": self.watermark, "probes": self.probes}


def query_sets(params: Params, skill_family: str | None = None) -> Queries:
    """The watermark queries (held-out prompts first), the identity probes (greedy), and the probe rows.

    The watermark can only show where the model had a choice: the skill's worked answers are
    near-forced token by token, so the investigator queries with open prompts (`skill_family` left out).
    """
    probes = probe_rows()
    open_prompts = [p for p in load_prompts() if p.family != skill_family]
    watermark = QuerySet(query_conversations(open_prompts, params.num_queries, params.seed), params.query_max_tokens,
                         params.query_temperature)
    probe = QuerySet([[{"role": "user", "content": p["question"]}] for p in probes], params.probe_max_tokens, 0.0)
    return Queries(watermark, probe, probes)


def ask_students(where: Workspace, queries: Queries, params: Params) -> dict[str, dict[str, list[str]]]:
    """Every suspect of notebook 02, served as a black box, answers both query sets (cached per model)."""
    return {name: ask_model(name, path, queries.both(), where.out, params.seed, params.device)
            for name, path in where.students.items()}


def checkpoints(num_queries: int) -> list[int]:
    """Query counts at which the p-value is read: a log-spaced ladder up to `num_queries`."""
    return sorted({q for q in QUERY_CHECKPOINTS if q < num_queries} | {num_queries})


def radioactivity(where: Workspace, queries: Queries, student_answers: dict[str, dict[str, list[str]]],
                  params: Params) -> pd.DataFrame:
    """Each suspect's exact binomial p-value under the provider's key against the number of queries."""
    answers = {name: a["watermark"] for name, a in student_answers.items()}
    return radioactivity_curves(where.tokenizer, queries.watermark.conversations, answers, where.scorer,
                                checkpoints(params.num_queries))


def final_table(curves: pd.DataFrame, num_queries: int) -> pd.DataFrame:
    """Each suspect's test after all queries."""
    return curves[curves.queries == num_queries].set_index("model")[["scored", "green", "green_share", "p_value"]]


def final_view(final: pd.DataFrame, where: Workspace, params: Params) -> pd.DataFrame:
    """The final table with the key's green-list ratio (the share expected without the watermark) and
    whether each suspect is significant at alpha."""
    return final.assign(gamma=where.deployment.watermark.greenlist_ratio, significant=final.p_value <= params.alpha)


def calibrate(where: Workspace, queries: Queries, student_answers: dict[str, dict[str, list[str]]],
              final: pd.DataFrame, params: Params) -> tuple[str, np.ndarray, Calibration]:
    """Score the most suspicious student's answers under `num_wrong_keys` random keys that are not the
    provider's: the suspect, the wrong keys' p-values, and their KS test and false-positive rate at alpha."""
    suspect = final.p_value.idxmin()
    pairs = suspect_pairs(where.tokenizer, queries.watermark.conversations, student_answers[suspect]["watermark"],
                          where.scorer.width)
    wrong = wrong_key_p_values(pairs, where.deployment.watermark, len(where.tokenizer), params.num_wrong_keys,
                               params.seed)
    return suspect, wrong, Calibration(**calibration(wrong, params.alpha))


def main_suspect(final: pd.DataFrame, distilled: distill.Metrics) -> str:
    """Notebook 02's best distilled student when it was queried, else its top-k student, else the most
    significant suspect."""
    for name in (distilled.best_student, "topk"):
        if name in final.index:
            return name
    return final.p_value.idxmin()


# ---- 2 · dose and response -----------------------------------------------------------------------


def train_splits(where: Workspace) -> tuple[list[dict], list[dict]]:
    """The train split of the watermarked (main) and clean (control) collections, open prompts only
    (notebook 02's skill family left out: its near-forced answers carry next to no watermark, so a dose
    is measured in the text where the watermark lives)."""
    split = lambda arm: [r for r in read_records(stage_dir(where.run, "collect") / arm)
                         if r["split"] == "train" and r["family"] != where.skill_family]
    return split("main"), split("control")


def train_dose_student(records: list[dict], params: Params, out: Path, name: str) -> None:
    """Train (or reuse) one dose or evasion student under `<out>/students/<name>` by `params.dose_recipe()`."""
    train_student(records, config=params.dose_start, train=params.dose_recipe(), out_dir=out / "students" / name,
                  name=name, kind="dose", progress=False)


def dose_answers(where: Workspace, main: list[dict], control: list[dict], queries: Queries,
                 params: Params) -> tuple[dict[float, list[str]], int]:
    """Train one student per watermarked share and ask it the watermark queries; also the records per student."""
    total = min(params.dose_records, len(main), len(control))
    answers = {}
    for share in params.dose_shares:
        name = f"dose-{share:.2f}"
        train_dose_student(watermark_mix(main, control, share, total, params.seed), params, where.out, name)
        answers[share] = ask_model(name, where.out / "students" / name, {"watermark": queries.watermark}, where.out,
                                   params.seed, params.device)["watermark"]
    return answers, total


def dose_table(where: Workspace, queries: Queries, answers: dict[float, list[str]], params: Params) -> pd.DataFrame:
    """Each dose student's watermark test after all queries, significant or not at alpha."""
    dose = (radioactivity_curves(where.tokenizer, queries.watermark.conversations,
                                 {f"{s:.2f}": a for s, a in answers.items()}, where.scorer, [params.num_queries])
            .rename(columns={"model": "watermarked_share"}))
    dose["watermarked_share"] = dose["watermarked_share"].astype(float)
    dose["significant"] = dose.p_value <= params.alpha
    return dose


# ---- 3 · identity probes -------------------------------------------------------------------------


def probe_answers(where: Workspace, queries: Queries, student_answers: dict[str, dict[str, list[str]]],
                  params: Params) -> dict[str, list[str]]:
    """The identity probes' answers: the deployed teacher's first (served as deployed, with its system
    prompt and precision), then each suspect's."""
    teacher = ask_model("teacher", resolve_source(where.deployment.model_source), {"probes": queries.probes},
                        where.out, params.seed, params.device, where.deployment.system_prompt,
                        where.deployment.precision)["probes"]
    return {"teacher (deployed)": teacher, **{name: a["probes"] for name, a in student_answers.items()}}


def probe_rates(answers: dict[str, list[str]]) -> dict[str, ProbeRate]:
    """Each model's share of answers naming the provider's identity, with an exact interval."""
    return {name: probe_rate(name, texts, PROVIDER_IDENTITY) for name, texts in answers.items()}


def identity_table(rates: dict[str, ProbeRate]) -> pd.DataFrame:
    """Each model's identity rate with its interval, and Fisher's p against the control student."""
    return pd.DataFrame([{"model": r.model, "named": r.named, "probes": r.total, "rate": r.rate,
                          "ci_low": r.low, "ci_high": r.high,
                          "p_vs_control": rate_difference_p_value(r, rates["control"]) if r.model != "control" else np.nan}
                         for r in rates.values()]).set_index("model")


def identity_by_language(queries: Queries, answers: dict[str, list[str]]) -> pd.DataFrame:
    """Per probe language (rows) and model (columns), the share of answers naming the provider's identity."""
    return pd.DataFrame({"language": [p["language"] for p in queries.probe_rows],
                         **{name: [mentions_identity(t, PROVIDER_IDENTITY) for t in texts]
                            for name, texts in answers.items()}}).groupby("language").mean()


# ---- 4 · traffic ---------------------------------------------------------------------------------


@dataclass
class Traffic:
    """The anomaly detector over the ledger's accounts: features, scores, ROC, and the replay."""
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
    first = int(replay[replay.flagged].distiller_requests.min()) if replay.flagged.any() else None
    return Traffic(features, scores, distillers, curve, auc, replay, first)


# ---- 5 · evasion ---------------------------------------------------------------------------------

EVASION_COLUMNS = {"training_data": "training data", "records": "records", "identity_rate": "identity rate",
                   "identity_p_vs_control": "identity p vs control", "watermark_p": "watermark p"}


@dataclass
class Evasion:
    """The scrubbing attempt: both arms' tests, and the records it dropped of those it scrubbed."""
    rows: list[EvasionRow]
    dropped: int
    scrubbed_from: int

    def text(self) -> str:
        return f"Scrubbing dropped **{self.dropped}** of the {self.scrubbed_from} records."

    def table(self) -> pd.DataFrame:
        return (pd.DataFrame([r.model_dump() for r in self.rows], columns=list(EVASION_COLUMNS))
                .rename(columns=EVASION_COLUMNS).set_index("training data"))


def evasion(where: Workspace, main: list[dict], control: list[dict], total: int, queries: Queries,
            control_rate: ProbeRate, params: Params) -> Evasion:
    """Scrub the identity from the fully watermarked dose student's data, train on what is left, test both."""
    full_share = watermark_mix(main, control, 1.0, total, params.seed)  # the data of the dose-1.00 student
    scrubbed, dropped = scrub_identity(full_share, PROVIDER_IDENTITY)
    rows = []
    for label, name, data in (("unscrubbed", "dose-1.00", full_share), ("scrubbed", "evasion-scrubbed", scrubbed)):
        train_dose_student(data, params, where.out, name)  # the dose-1.00 student is reused when it was trained above
        asked = ask_model(name, where.out / "students" / name, queries.both(), where.out, params.seed, params.device)
        probe = probe_rate(name, asked["probes"], PROVIDER_IDENTITY)
        wm = radioactivity_curves(where.tokenizer, queries.watermark.conversations, {name: asked["watermark"]},
                                  where.scorer, [params.num_queries]).iloc[0]
        rows.append(EvasionRow(training_data=label, records=len(data), identity_rate=probe.rate,
                               identity_p_vs_control=rate_difference_p_value(probe, control_rate),
                               watermark_p=wm.p_value))
    return Evasion(rows, dropped, len(full_share))


# ---- targets, summary, metrics -------------------------------------------------------------------


def targets(final: pd.DataFrame, dose: pd.DataFrame, calib: Calibration, suspect: str, params: Params) -> list[Target]:
    """The study's targets: fully watermarked students at p <= target_p, controls and wrong keys quiet."""
    by_share = dose.set_index("watermarked_share").p_value
    flagged = round(calib.false_positive_rate * calib.keys)
    excess = binomtest(flagged, calib.keys, params.alpha, alternative="greater").pvalue
    return [
        Target("fully watermarked dose student", f"p = {by_share.get(1.0, float('nan')):.2e}",
               bool(by_share.get(1.0, 1.0) <= params.target_p)),
        Target(f"`{suspect}` student (notebook 02)", f"p = {final.loc[suspect, 'p_value']:.2e}",
               bool(final.loc[suspect, "p_value"] <= params.target_p)),
        Target("control student not significant", f"p = {final.loc['control', 'p_value']:.2e}",
               bool(final.loc["control", "p_value"] > params.alpha)),
        Target("dose student without watermark not significant", f"p = {by_share.get(0.0, float('nan')):.2e}",
               bool(by_share.get(0.0, 0.0) > params.alpha)),
        Target("wrong keys uniform and not over-flagged",
               f"{flagged}/{calib.keys} flagged (binomial p = {excess:.2f}), KS p = {calib.ks_p_value:.2f}",
               bool(excess > 0.05 and calib.ks_p_value > 0.05)),
    ]


def targets_intro(params: Params) -> str:
    """The line above the targets table: the profile, the queries, and where the target is set."""
    return (f"Profile `{params.profile}`, {params.num_queries} queries per suspect"
            + ("" if params.profile == "workshop" else
               f" (the p ≤ {params.target_p:.0e} target is set for the workshop profile)".replace("e-0", "e-")) + ":")


def summary_table(final: pd.DataFrame, calib: Calibration, rates: dict[str, ProbeRate], identity: pd.DataFrame,
                  seen: Traffic, suspect: str, params: Params) -> pd.DataFrame:
    """Every test, its statistic, its result on the control, and its false positives."""
    ordinary = seen.scores.drop(seen.distillers)
    return pd.DataFrame([
        {"test": "watermark radioactivity",
         "statistic": f"{final.loc[suspect, 'green']}/{final.loc[suspect, 'scored']} green pairs",
         "suspect": f"p = {final.loc[suspect, 'p_value']:.2e}", "control": f"p = {final.loc['control', 'p_value']:.2e}",
         "false positives": f"{calib.false_positive_rate:.0%} of {calib.keys} wrong keys at alpha {params.alpha} "
                            f"(KS p = {calib.ks_p_value:.2f})"},
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


def stage_metrics(params: Params, suspect: str, final: pd.DataFrame, calib: Calibration, dose: pd.DataFrame,
                  identity: pd.DataFrame, seen: Traffic, evaded: Evasion, checks: list[Target]) -> Metrics:
    """The metrics.json of the detect stage (read by the spread), its headline set."""
    metrics = Metrics(
        num_queries=params.num_queries, suspect=suspect, radioactivity=as_records(final.reset_index(), RadioactivityRow),
        calibration=calib, dose=as_records(dose, DoseRow), identity=as_records(identity.reset_index(), IdentityRow),
        traffic_auc=seen.auc, first_flagged_after=seen.first, evasion=evaded.rows, parameters=params.values(),
        targets=[Target(**t.as_dict()) for t in checks],  # met as a plain bool (a numpy one would be written "True")
    )
    metrics.headline = headline(metrics)
    return metrics


def headline(metrics: Metrics) -> dict[str, str]:
    """The report index's lines for this stage."""
    suspect, calib = metrics.suspect, metrics.calibration
    dose_full = metrics.dose_p_value(1.0)
    identity = lambda model: metrics.identity_of(model).rate
    return {
        f"watermark p ({suspect}, {metrics.num_queries} queries)": f"{metrics.p_value(suspect):.2e}",
        "watermark p (fully watermarked dose student)": f"{float('nan') if dose_full is None else dose_full:.2e}",
        "watermark p (control student)": f"{metrics.p_value('control'):.2e}",
        f"wrong keys flagged at alpha {calib.alpha}": f"{calib.false_positive_rate:.0%} of {calib.keys}",
        f"identity probes naming {PROVIDER_IDENTITY.name} ({suspect} / control)":
            f"{identity(suspect):.0%} / {identity('control'):.0%}",
        "traffic detector AUC": f"{metrics.traffic_auc:.2f}",
    }
