"""The study's four questions answered from one published run's metrics.json files: was the skill
copied, what did copying cost, is it proven, and against whom. `publish` writes them into the
README's "Results at a glance" and docs/results.md.

Each answer is a verdict word and the figures it rests on, both computed here from the stage's
raw metrics (read as plain JSON, so that a run published by older code still reads; a figure it
lacks is left out, a stage it lacks is "not measured"). The verdict rules are `RULES`, which the
pages state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from casestudy.stages.cost.texts import percent_text, usd_text
from casestudy.stages.distill.params import SKILL_FAMILY

SIGNIFICANT = 0.01      # the McNemar level a copy must beat its control at
MOST = 0.5              # ... and the share of the provider's skill gain it must reach
DISTILLER_ARM = "main"  # a student trained on the provider's answers
INNOCENT = {"control": "the control", "competitor": "the honest competitor", "public": "the public model"}
RULES = [
    ("Copied?", f"**yes** when the best student beats its control at McNemar p < {SIGNIFICANT:g} and has at least "
                f"{MOST:.0%} of the provider's skill gain (teacher minus public model); **in part** when only the "
                "first holds; **no** otherwise"),
    ("What did it cost?", "the copy's bill (the API bill and the training) against what creating the skill "
                          "(the provider) and building it without the API (the honest competitor) cost"),
    ("Proven?", "**yes** when the main suspect's watermark p-value reaches the profile's target; **evidence, not "
                "proof** when it is only below alpha; **no** otherwise"),
    ("Against whom?", "the models the watermark test flags at alpha; **also innocent models** when the control, "
                      "the honest competitor or the public model is among them"),
]


class Answer(NamedTuple):
    notebook: str   # the notebook that measures it, e.g. "02_distill"
    question: str
    verdict: str    # Markdown, the verdict word in bold
    figures: str    # Markdown: the figures it rests on


def metrics(run: Path, stage: str) -> dict[str, Any] | None:
    path = Path(run) / stage / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else None


def p_text(p: float | None) -> str:
    return "not measured" if p is None else f"{p:.1e}"


def share(x: float | None) -> str:
    return "?" if x is None else f"{x:.0%}"


def students(distill: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in (distill or {}).get("students", []) if "name" in s}


def skill_of(distill: dict[str, Any] | None, name: str) -> float | None:
    return (students(distill).get(name, {}).get("skill") or {}).get("accuracy")


def not_measured(notebook: str, why: str | None) -> str:
    return f"not measured: {notebook} {why}" if why else f"not measured: {notebook} did not run"


def copied(distill: dict[str, Any] | None, why: str | None = None) -> Answer:
    """Was the provider's skill copied? The best student against its control, the teacher, the public model."""
    best = (distill or {}).get("best_student")
    student = students(distill).get(best or "")
    if not student or not student.get("skill"):
        return Answer("02_distill", "Copied?", "**not measured**", not_measured("02_distill", why))
    skill = student["skill"]
    gain, p = skill.get("copied_share"), skill.get("mcnemar_p")
    if p is not None and p < SIGNIFICANT:
        verdict = "**yes**" if gain is not None and gain >= MOST else "**in part**"
    else:
        verdict = "**no**"
    teacher = (distill.get("teacher_skill") or {}).get("accuracy")
    family = distill.get("skill_family")
    parts = [f"`{best}` answers {share(skill.get('accuracy'))} of {skill.get('n', '?')} held-out "
             f"{family + ' ' if family else ''}prompts, {share(gain)} of the provider's skill gain"]
    others = [f"{label} {share(value)}" for label, value in [
        ("the teacher", teacher), ("the public model", skill_of(distill, "public")),
        ("the control", skill_of(distill, "control"))] if value is not None]
    if others:
        parts[0] += " (" + ", ".join(others) + ")"
    parts.append(f"McNemar p = {p_text(p)} against the control")
    competitor = skill_of(distill, "competitor")
    if competitor is not None:
        parts.append(f"the honest competitor, without the API: {share(competitor)}")
    return Answer("02_distill", "Copied?", verdict, "; ".join(parts))


def route_usd(route: dict[str, Any]) -> float:
    return float(route.get("data_usd") or 0) + float(route.get("compute_usd") or 0)


def cost(cost_metrics: dict[str, Any] | None, collect: dict[str, Any] | None, why: str | None = None) -> Answer:
    """What did copying cost? The distiller's bill against the provider's (created) and the honest
    competitor's (built); without those routes (older runs), the bill and the share it bought."""
    question = "What did it cost?"
    if not cost_metrics:
        return Answer("03_cost", question, "**not measured**", not_measured("03_cost", why))
    parts = []
    routes = {r.get("who", "").split(" ")[0]: r for r in cost_metrics.get("routes", [])}
    ratios = cost_metrics.get("ratios", {})
    price = (cost_metrics.get("price_point") or {})
    price_name = f"{price['name']} ({price['as_of']}) prices" if {"name", "as_of"} <= set(price) else "the API's prices"
    if "distiller" in routes:
        copy = routes["distiller"]
        verdict = f"**{usd_text(route_usd(copy))}**"
        if "copy / create" in ratios:
            verdict += f", {percent_text(ratios['copy / create'])} of creating the skill"
        parts.append(f"copying cost {usd_text(route_usd(copy))} to reach {share(copy.get('skill_accuracy'))}, "
                     f"from {copy.get('data', 'the API bill')} at {price_name} and the training")
        for who, label in [("provider", "creating it"), ("honest", "building it honestly")]:
            if who in routes:
                route = routes[who]
                parts.append(f"{label} cost {usd_text(route_usd(route))} to reach {share(route.get('skill_accuracy'))}"
                             + (f", from {route['data']}" if route.get("data") else ""))
        even = cost_metrics.get("break_even", {})
        word, factor = even.get("per-word price at break-even (USD)"), even.get("API price factor at break-even")
        if word is not None and factor is not None:
            parts.append(f"copying stops paying below {usd_text(word)} per translated word, or at {factor:.0f}x "
                         "the API's prices")
    else:
        best = cost_metrics.get("best_student") or {}
        if "distiller_usd" not in best:
            return Answer("03_cost", question, "**not measured**", "no bill in 03_cost's metrics")
        verdict = f"**{usd_text(best['distiller_usd'])}**"
        bill = (collect or {}).get("records")
        parts.append(f"`{best.get('student', '?')}`: {share(best.get('copied_share'))} of the provider's skill gain "
                     f"for {usd_text(best['distiller_usd'])} (API bill at {price_name}"
                     + (f" for {bill:,} answers" if isinstance(bill, int) else "") + ", and training)")
        parts.append("the price of creating the skill was not measured by this run")
    return Answer("03_cost", question, verdict, "; ".join(parts))


EVIDENCE_TESTS = {"watermark": "watermark", "identity": "identity probes", "mistakes": "copied mistakes"}


def proven(detect: dict[str, Any] | None, why: str | None = None) -> Answer:
    """Is the copy proven? The main suspect's tests against the profile's target, under notebook 04's conviction
    rule where the run has it (every test, honest models quiet), else its watermark test alone."""
    if not detect or not detect.get("radioactivity"):
        return Answer("04_detect", "Proven?", "**not measured**", not_measured("04_detect", why))
    suspect = detect.get("suspect")
    p = {r["model"]: r["p_value"] for r in detect["radioactivity"]}
    target = (detect.get("parameters") or {}).get("target_p", 1e-6)
    alpha = (detect.get("calibration") or {}).get("alpha", SIGNIFICANT)
    mine = p.get(suspect)
    evidence = next((r for r in detect.get("evidence", []) if r.get("model") == suspect), None)
    tests = {t: evidence.get(t) for t in EVIDENCE_TESTS} if evidence else {"watermark": mine}
    strongest = min((v for v in tests.values() if v is not None), default=None)
    convicted = evidence["verdict"] == "convicted" if evidence else (mine is not None and mine <= target)
    if convicted:
        verdict = "**yes**"
    elif strongest is not None and strongest < alpha:
        verdict = "**evidence, not proof**"
    else:
        verdict = "**no**"
    queries = detect.get("num_queries")
    if evidence:
        said = ", ".join(f"{EVIDENCE_TESTS[t]} p = {p_text(v)}" for t, v in tests.items() if v is not None)
        parts = [f"against `{suspect}`: {said}; proof needs p ≤ {target:.0e} on one test while every honest model "
                 f"stays above {alpha:g}"]
    else:
        parts = [f"watermark test{f' after {queries} queries' if queries else ''}: `{suspect}` p = {p_text(mine)}, "
                 f"proof needs p ≤ {target:.0e}"]
    dose = {d["watermarked_share"]: d["p_value"] for d in detect.get("dose", [])}
    if 1.0 in dose:
        parts.append(f"a student trained only on watermarked answers: p = {p_text(dose[1.0])}")
    if "control" in p:
        parts.append(f"the control: p = {p_text(p['control'])}")
    calibration = detect.get("calibration") or {}
    if "false_positive_rate" in calibration:
        parts.append(f"{share(calibration['false_positive_rate'])} of {calibration.get('keys', '?')} wrong keys "
                     f"flagged at {alpha:g}")
    return Answer("04_detect", "Proven?", verdict, "; ".join(parts))


def against_whom(detect: dict[str, Any] | None, distill: dict[str, Any] | None, why: str | None = None) -> Answer:
    """Whom does the evidence point at? The models the watermark flags, the identity probes, the traffic."""
    question = "Against whom?"
    if not detect or not detect.get("radioactivity"):
        return Answer("04_detect", question, "**not measured**", not_measured("04_detect", why))
    alpha = (detect.get("calibration") or {}).get("alpha", SIGNIFICANT)
    arms = {name: s.get("arm") for name, s in students(distill).items()}
    flagged = [r["model"] for r in detect["radioactivity"] if r["p_value"] < alpha]
    spared = [r["model"] for r in detect["radioactivity"] if r["p_value"] >= alpha]
    wronged = [m for m in flagged if m in INNOCENT or (m in arms and arms[m] != DISTILLER_ARM)]
    names = lambda models: ", ".join(f"`{m}`" for m in models) or "none"  # noqa: E731
    if wronged:
        verdict = f"**also innocent models**: {names(wronged)}"
    elif flagged:
        verdict = "**the distiller's students**" if all(arms.get(m) == DISTILLER_ARM for m in flagged) else \
            f"**{names(flagged)}**"
    else:
        verdict = "**nobody**"
    parts = [f"the watermark flags {names(flagged)} at {alpha:g}, not {names(spared)}"]
    identity = [r for r in detect.get("identity", []) if r.get("model") in arms]
    named = [f"`{r['model']}` {share(r['rate'])}" for r in identity]
    if named:
        parts.append(f"identity probes naming the teacher's identity ({identity[0].get('probes', '?')} probes): "
                     + ", ".join(named))
    honest = [r for r in detect.get("evidence", []) if r.get("role") == "honest"]
    if honest:
        accused = [r["model"] for r in honest if r.get("verdict") != "cleared"]
        parts.append(f"honest models ({names(r['model'] for r in honest)}): "
                     + (f"flagged by some test: {names(accused)}" if accused else "cleared by every test"))
    mistakes = {r["model"]: r for r in detect.get("mistakes", [])}
    if mistakes:
        parts.append(f"the teacher's {next(iter(mistakes.values()))['items']} wrong answers on fresh prompts repeated: "
                     + ", ".join(f"`{m}` {r['copied']}" for m, r in mistakes.items()))
    if detect.get("traffic_auc") is not None:
        first = detect.get("first_flagged_after")
        parts.append(f"the traffic detector ranks the distiller's account at AUC {detect['traffic_auc']:.2f}"
                     + (f", first after {first} of its requests" if first is not None else ""))
    return Answer("04_detect", question, verdict, "; ".join(parts))


def answers(run: Path, stopped: dict[str, str] | None = None) -> list[Answer]:
    """The four answers for a published run; `stopped` (notebook -> why) says where it did not finish."""
    stopped = stopped or {}
    collect, distill = metrics(run, "collect"), metrics(run, "distill")
    cost_metrics, detect = metrics(run, "cost"), metrics(run, "detect")
    why = lambda nb: f"stopped at {stopped[nb]}" if nb in stopped else None
    return [copied(distill, why("02_distill")), cost(cost_metrics, collect, why("03_cost")),
            proven(detect, why("04_detect")), against_whom(detect, distill, why("04_detect"))]


def targets(run: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every stage's targets, as (stage, target)."""
    found = []
    for stage in ("collect", "distill", "cost", "detect"):
        found += [(stage, t) for t in (metrics(run, stage) or {}).get("targets", [])]
    return found


def targets_text(run: Path) -> tuple[str, str]:
    """("N met, M missed", the missed checks with what was measured)."""
    found = targets(run)
    met = sum(t.get("met") is True for _, t in found)
    missed = [(stage, t) for stage, t in found if t.get("met") is False]
    none = sum(t.get("met") is None for _, t in found)
    count = f"{met} met, {len(missed)} missed" + (f", {none} without a target" if none else "")
    return count, "; ".join(f"{stage}: {t.get('check')} ({t.get('measured')})" for stage, t in missed) or "none"


def collection(run: Path, committed: Path) -> str | None:
    """Where a run's collection differs from the frozen one committed now: the sentence, else None."""
    source = (metrics(run, "collect") or {}).get("source") or {}
    if source.get("kind") != "frozen" or not source.get("sha256"):
        return None
    archive = committed / source.get("archive", "")
    checksum = archive.with_name(archive.name + ".sha256")
    now = checksum.read_text().split()[0] if checksum.is_file() else None
    if now == source["sha256"]:
        return None
    return (f"it trained on an older frozen collection (SHA-256 {source['sha256'][:12]}…"
            + (f", not the committed {now[:12]}…)" if now else "; none is committed now)"))


def skill_note(run: Path) -> str | None:
    """Where a run's skill is not the one the provider sells now: the sentence, else None."""
    family = (metrics(run, "distill") or {}).get("skill_family")
    return f"its skill is {family}, not the {SKILL_FAMILY} the provider sells now" \
        if family and family != SKILL_FAMILY else None
