"""Writes notebooks/04_detect.ipynb (run from the repository root)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from nbbuild import build  # noqa: E402

cells = [
("md", r"""
# 04 · Detect: can the provider prove its teacher was distilled?

The provider suspects that a competitor's model learned from its API. It cannot open the
suspect model; it can only **query it as any customer would**, and look at its own
**request ledger**. This notebook runs the provider's three lines of evidence, each with a
control and an exact p-value or an interval:

1. **Watermark radioactivity.** Every completion the provider served carried a secret
   green-list watermark. A student trained on those completions may reproduce a faint
   excess of green tokens in *its own* text. The test counts green (context, token) pairs
   in the suspect's answers under the secret key, each distinct pair once, and asks how
   unlikely that count is for a model that never saw the watermark (exact binomial tail).
2. **Identity probes.** The provider's deployment calls itself by a fictional name. A
   student may have learnt to say the same.
3. **Traffic.** In the ledger, harvesting looks different from ordinary use.

Then the distiller fights back with an **evasion attempt**, and a summary table lists
every test with its control.
"""),
("params", r"""
profile = "smoke"
seed = 0
device = "auto"
num_queries = 16              # prompts sent to each suspect for the watermark test
query_max_tokens = 64         # tokens per suspect answer
query_temperature = 1.0       # suspects sample, as a customer would see them
num_wrong_keys = 100          # keys that are not the provider's, for the calibration
alpha = 0.01                  # significance level of every test
dose_shares = [0.0, 0.5, 1.0] # watermarked share of the training data of each dose student
dose_records = 40             # training records per dose student
dose_steps = 40               # optimizer steps per dose student
dose_student_size = "5m"      # architecture of the dose and evasion students
probe_max_tokens = 48         # tokens per identity-probe answer
"""),
("code", r"""
import numpy as np
import pandas as pd
import seaborn as sns
import matplotlib.pyplot as plt
from IPython.display import Markdown, display
from transformers import AutoTokenizer

from casestudy.artifacts import read_metrics, write_metrics
from casestudy.paths import run_dir, stage_dir
from casestudy.distiller.dataset import read_records
from casestudy.distiller.prompts import load_prompts
from casestudy.detection import study
from casestudy.detection.radioactivity import PairScorer, wrong_key_p_values, calibration
from casestudy.provider.identity import PROVIDER_IDENTITY, mentions_identity

run = run_dir(profile)
out = stage_dir(run, "detect")
deployment = study.deployment_settings(stage_dir(run, "collect") / "provider" / "settings.json")
distill = read_metrics(stage_dir(run, "distill"))
students = {s["name"]: run / "distill" / "students" / s["name"] for s in distill["students"]}
tokenizer = AutoTokenizer.from_pretrained(students["baseline"])  # the teacher's tokenizer, shipped with every student
scorer = PairScorer(deployment.watermark, len(tokenizer))
sns.set_theme(style="whitegrid")
pd.DataFrame({"student": list(students), "kind": [s["kind"] for s in distill["students"]],
              "parameters": [f"{s['params'] / 1e6:.1f}M" for s in distill["students"]]})
"""),
("md", r"""
## 1 · Watermark radioactivity

The suspects are the students of notebook 02: trained on the provider's watermarked
outputs (`sft`, `topk`), on the **control** deployment's unwatermarked outputs
(`control`), and not on teacher data at all (`baseline`). Each one is started behind the
same OpenAI-compatible server, without a watermark of its own, and asked the same
questions through the `openai` client.
"""),
("code", r"""
from casestudy.detection.study import QuerySet
from casestudy.provider.identity import probe_rows

probes = probe_rows()
watermark_queries = QuerySet(study.query_conversations(load_prompts(), num_queries, seed), query_max_tokens, query_temperature)
probe_queries = QuerySet([[{"role": "user", "content": p["question"]}] for p in probes], probe_max_tokens, 0.0)
conversations = watermark_queries.conversations
student_answers = {name: study.ask_model(name, path, {"watermark": watermark_queries, "probes": probe_queries}, out, seed, device)
                   for name, path in students.items()}
answers = {name: a["watermark"] for name, a in student_answers.items()}
checkpoints = sorted({q for q in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if q < num_queries} | {num_queries})
curves = study.radioactivity_curves(tokenizer, conversations, answers, scorer, checkpoints)
final = curves[curves.queries == num_queries].set_index("model")[["scored", "green", "green_share", "p_value"]]
final.assign(gamma=deployment.watermark.greenlist_ratio, significant=final.p_value <= alpha)
"""),
("code", r"""
fig, ax = plt.subplots(figsize=(7, 4))
sns.lineplot(data=curves, x="queries", y="p_value", hue="model", marker="o", ax=ax)
ax.axhline(alpha, color="grey", ls="--", lw=1, label=f"alpha = {alpha}")
ax.set(xscale="log", yscale="log", xlabel="queries sent to the suspect", ylabel="exact binomial p-value",
       title="Watermark radioactivity: evidence grows with queries")
ax.legend(fontsize=8); plt.show()
"""),
("md", r"""
### Is the test calibrated?

If the test is honest, scoring a suspect under keys that are **not** the provider's must
give p-values spread uniformly between 0 and 1, and at most about `alpha` of them below
`alpha`. We score the most suspicious student's answers under many random wrong keys.
"""),
("code", r"""
suspect = final.p_value.idxmin()
pairs = study.suspect_pairs(tokenizer, conversations, answers[suspect], scorer.width)
wrong = wrong_key_p_values(pairs, deployment.watermark, len(tokenizer), num_wrong_keys, seed)
calib = calibration(wrong, alpha)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
sns.histplot(wrong, bins=10, binrange=(0, 1), stat="density", ax=axes[0])
axes[0].axhline(1, color="grey", ls="--"); axes[0].set(xlabel="p-value under a wrong key", title=f"{len(wrong)} wrong keys")
axes[1].plot(np.linspace(0, 1, len(wrong)), np.sort(wrong), "o", ms=3); axes[1].plot([0, 1], [0, 1], "k--", lw=1)
axes[1].set(xlabel="uniform quantile", ylabel="sorted p-values", title="QQ plot against Uniform(0, 1)")
plt.tight_layout(); plt.show()
pd.Series(calib, name=f"wrong keys on '{suspect}'").to_frame()
"""),
("md", r"""
## 2 · Dose and response

How much of the training data must carry the watermark before the test sees it? Here
the distiller's data is a mix of the watermarked collection and the control collection
(same prompts, no watermark); one student is trained per share, with the same recipe, and
queried like the others.
"""),
("code", r"""
from casestudy.detection.experiments import watermark_mix
from casestudy.distiller.train import TrainConfig, train_student

main_train = [r for r in read_records(run / "collect" / "main") if r["split"] == "train"]
control_train = [r for r in read_records(run / "collect" / "control") if r["split"] == "train"]
total = min(dose_records, len(main_train), len(control_train))
dose_answers = {}
for share in dose_shares:
    name = f"dose-{share:.2f}"
    result = train_student(watermark_mix(main_train, control_train, share, total, seed), config=dose_student_size,
                           train=TrainConfig(max_steps=dose_steps, seed=seed, device=device),
                           out_dir=out / "students" / name, name=name, kind="dose", progress=False)
    dose_answers[share] = study.ask_model(name, out / "students" / name, {"watermark": watermark_queries},
                                          out, seed, device)["watermark"]
dose = (study.radioactivity_curves(tokenizer, conversations, {f"{s:.2f}": a for s, a in dose_answers.items()},
                                   scorer, [num_queries])
        .rename(columns={"model": "watermarked_share"}))
dose["watermarked_share"] = dose["watermarked_share"].astype(float)
dose["significant"] = dose.p_value <= alpha
dose[["watermarked_share", "scored", "green", "green_share", "p_value", "significant"]]
"""),
("code", r"""
fig, ax = plt.subplots(figsize=(6, 3.5))
sns.lineplot(data=dose, x="watermarked_share", y="p_value", marker="o", ax=ax)
ax.axhline(alpha, color="grey", ls="--", lw=1)
ax.set(yscale="log", xlabel="share of training data that carried the watermark", ylabel="p-value",
       title=f"Dose and response ({total} training records, {num_queries} queries)")
plt.show()
"""),
("md", r"""
## 3 · Identity probes

Held-out questions about the assistant's identity, paraphrased and in several languages
(Indonesian among them), none of which was used to tune the teacher. We count the answers
that name the provider's fictional model, for the deployed teacher, the distilled students
and the control student, with exact 95% intervals, and compare each student with the
control by Fisher's exact test.
"""),
("code", r"""
from casestudy.detection.identity_probes import probe_rate, rate_difference_p_value
from casestudy.provider.teacher import resolve_source

teacher_dir = resolve_source(deployment.model_source)  # the deployed teacher's weights
probe_answers = {"teacher (deployed)": study.ask_model("teacher", teacher_dir, {"probes": probe_queries}, out, seed,
                                                       device, deployment.system_prompt)["probes"]}
probe_answers |= {name: a["probes"] for name, a in student_answers.items()}
rates = {name: probe_rate(name, texts, PROVIDER_IDENTITY) for name, texts in probe_answers.items()}
identity = pd.DataFrame([{"model": r.model, "named": r.named, "probes": r.total, "rate": r.rate,
                          "ci_low": r.low, "ci_high": r.high,
                          "p_vs_control": rate_difference_p_value(r, rates["control"]) if r.model != "control" else np.nan}
                         for r in rates.values()]).set_index("model")
identity.round(4)
"""),
("code", r"""
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.errorbar(identity.rate, identity.index, xerr=[identity.rate - identity.ci_low, identity.ci_high - identity.rate],
            fmt="o", capsize=4)
ax.set(xlim=(-0.02, 1.02), xlabel=f"share of {len(probes)} probes naming '{PROVIDER_IDENTITY.name}' (95% CI)",
       title="Identity probes"); ax.invert_yaxis(); plt.show()
by_language = pd.DataFrame({"language": [p["language"] for p in probes],
                            **{name: [mentions_identity(t, PROVIDER_IDENTITY) for t in texts]
                               for name, texts in probe_answers.items()}}).groupby("language").mean()
by_language.round(2)
"""),
("md", r"""
## 4 · Traffic in the provider's ledger

Every request of notebook 01 is a row in the provider's SQLite ledger: the distiller's
collection, the control collection and the **simulated** ordinary customers (a simulation,
not real users: their requests are generated by `casestudy.distiller.traffic`). For each
account we compute traffic features and score them with an unsupervised anomaly detector,
then check the ranking against the simulation's ground truth.
"""),
("code", r"""
from casestudy.detection.traffic import account_features, anomaly_scores, first_flagged, roc
from casestudy.provider.ledger import read_ledger

ledger = read_ledger(stage_dir(run, "collect") / "provider" / "ledger.sqlite")
features = account_features(ledger)
scores = anomaly_scores(features, seed)
distillers = [a for a in features.index if a.startswith("distiller")]
curve, auc = roc(scores, distillers)
features.assign(anomaly=scores, distiller=features.index.isin(distillers)).sort_values("anomaly", ascending=False).round(2)
"""),
("code", r"""
replay = first_flagged(ledger, distillers[0], [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000], seed)
first = replay[replay.flagged].distiller_requests.min() if replay.flagged.any() else None
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
axes[0].plot(curve.fpr, curve.tpr, drawstyle="steps-post"); axes[0].plot([0, 1], [0, 1], "k--", lw=1)
axes[0].set(xlabel="false-positive rate", ylabel="true-positive rate", title=f"ROC over {len(features)} accounts, AUC = {auc:.2f}")
sns.lineplot(data=replay, x="distiller_requests", y="rank", marker="o", ax=axes[1])
axes[1].set(xscale="log", xlabel=f"requests made by '{distillers[0]}'", ylabel="anomaly rank (1 = flagged)",
            title="When is the distiller first flagged?")
plt.tight_layout(); plt.show()
display(Markdown(f"The distiller was first ranked the most anomalous account after **{first}** of its requests."
                 if first else "The distiller was **never** ranked the most anomalous account at these checkpoints."))
"""),
("md", r"""
## 5 · An evasion attempt: scrub the identity

A distiller who knows the teacher's name can drop every collected completion that
mentions it or its maker before training: a string search, nearly free. We scrub the training
set of the fully watermarked dose student (the same random sample of records) and train a
student on what is left with the same recipe and size; the unscrubbed arm is the dose student
itself. Both get the identity probes and the watermark test.
"""),
("code", r"""
from casestudy.detection.experiments import scrub_identity

full_share = watermark_mix(main_train, control_train, 1.0, total, seed)  # the data of the dose-1.00 student
scrubbed, dropped = scrub_identity(full_share, PROVIDER_IDENTITY)
evasion = []
for label, name, records in (("unscrubbed", "dose-1.00", full_share), ("scrubbed", "evasion-scrubbed", scrubbed)):
    # the same recipe as the dose students: the dose-1.00 student is reused when it was trained above
    train_student(records, config=dose_student_size, train=TrainConfig(max_steps=dose_steps, seed=seed, device=device),
                  out_dir=out / "students" / name, name=name, kind="dose", progress=False)
    asked = study.ask_model(name, out / "students" / name, {"watermark": watermark_queries, "probes": probe_queries},
                            out, seed, device)
    wm_answers = asked["watermark"]
    probe = probe_rate(name, asked["probes"], PROVIDER_IDENTITY)
    wm = study.radioactivity_curves(tokenizer, conversations, {name: wm_answers}, scorer, [num_queries]).iloc[0]
    evasion.append({"training data": label, "records": len(records), "identity rate": probe.rate,
                    "identity p vs control": rate_difference_p_value(probe, rates["control"]),
                    "watermark p": wm.p_value})
display(Markdown(f"Scrubbing dropped **{dropped}** of the {len(full_share)} records."))
pd.DataFrame(evasion).set_index("training data")
"""),
("md", r"""
## Against the targets

The study's target on a 2-core CPU (`workshop`): the student trained on fully watermarked
data gives p ≤ 1e-6 from at most 200 queries, while the control student and the wrong keys
stay non-significant. Two students here trained only on watermarked data: the fully
watermarked dose student and notebook 02's main suspect. The wrong keys pass when their
p-values look uniform (KS p > 0.05) and the count flagged at alpha is not above what alpha
predicts (one-sided binomial p > 0.05).
"""),
("code", r"""
from scipy.stats import binomtest

main_suspect = "topk" if "topk" in final.index else suspect
target_p = 1e-6
by_share = dose.set_index("watermarked_share").p_value
flagged = round(calib["false_positive_rate"] * calib["keys"])
excess = binomtest(flagged, calib["keys"], alpha, alternative="greater").pvalue
checks = [
    ("fully watermarked dose student", f"p = {by_share.get(1.0, float('nan')):.2e}", by_share.get(1.0, 1.0) <= target_p),
    (f"`{main_suspect}` student (notebook 02)", f"p = {final.loc[main_suspect, 'p_value']:.2e}",
     final.loc[main_suspect, "p_value"] <= target_p),
    ("control student not significant", f"p = {final.loc['control', 'p_value']:.2e}", final.loc["control", "p_value"] > alpha),
    ("dose student without watermark not significant", f"p = {by_share.get(0.0, float('nan')):.2e}",
     by_share.get(0.0, 0.0) > alpha),
    ("wrong keys uniform and not over-flagged",
     f"{flagged}/{calib['keys']} flagged (binomial p = {excess:.2f}), KS p = {calib['ks_p_value']:.2f}",
     excess > 0.05 and calib["ks_p_value"] > 0.05),
]
targets = pd.DataFrame([(c, m, bool(ok)) for c, m, ok in checks], columns=["check", "measured", "met"]).set_index("check")
display(Markdown(f"Profile `{profile}`, {num_queries} queries per suspect"
                 + ("" if profile == "workshop" else " (the p ≤ 1e-6 target is set for the workshop profile)") + ":"))
targets
"""),
("md", r"""
## Summary

Every test, its statistic, its result on the control, and its false positives.
"""),
("code", r"""
summary = pd.DataFrame([
    {"test": "watermark radioactivity", "statistic": f"{final.loc[main_suspect, 'green']}/{final.loc[main_suspect, 'scored']} green pairs",
     "suspect": f"p = {final.loc[main_suspect, 'p_value']:.2e}", "control": f"p = {final.loc['control', 'p_value']:.2e}",
     "false positives": f"{calib['false_positive_rate']:.0%} of {calib['keys']} wrong keys at alpha {alpha} (KS p = {calib['ks_p_value']:.2f})"},
    {"test": "identity probes", "statistic": f"{rates[main_suspect].named}/{rates[main_suspect].total} answers name {PROVIDER_IDENTITY.name}",
     "suspect": f"p = {identity.loc[main_suspect, 'p_vs_control']:.2e} (Fisher, vs control)",
     "control": f"{rates['control'].rate:.0%} name it", "false positives": "control is the reference"},
    {"test": "traffic anomaly", "statistic": "IsolationForest over accounts",
     "suspect": f"AUC = {auc:.2f}; first flagged after {first} requests",
     "control": f"{len(features) - len(distillers)} simulated ordinary accounts",
     "false positives": f"{int((scores.drop(distillers) >= scores[distillers].min()).sum())} ordinary accounts score at or above a distiller"},
]).set_index("test")
summary
"""),
("code", r"""
metrics = {
    "num_queries": num_queries, "suspect": main_suspect,
    "radioactivity": final.reset_index().to_dict("records"),
    "calibration": calib, "dose": dose[["watermarked_share", "scored", "green", "p_value"]].to_dict("records"),
    "identity": identity.reset_index().to_dict("records"), "traffic_auc": auc, "first_flagged_after": first,
    "evasion": evasion, "targets": targets.reset_index().to_dict("records"),
}
headline = {
    f"watermark p ({main_suspect}, {num_queries} queries)": f"{final.loc[main_suspect, 'p_value']:.2e}",
    "watermark p (fully watermarked dose student)": f"{by_share.get(1.0, float('nan')):.2e}",
    "watermark p (control student)": f"{final.loc['control', 'p_value']:.2e}",
    f"wrong keys flagged at alpha {alpha}": f"{calib['false_positive_rate']:.0%} of {calib['keys']}",
    f"identity probes naming {PROVIDER_IDENTITY.name} ({main_suspect} / control)": f"{rates[main_suspect].rate:.0%} / {rates['control'].rate:.0%}",
    "traffic detector AUC": f"{auc:.2f}",
}
write_metrics(out, metrics, headline)
pd.Series(headline, name="headline").to_frame()
"""),
]
build(Path("notebooks/04_detect.ipynb"), cells)
