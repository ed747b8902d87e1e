"""Where the teacher's ordinary-family gap to the public model comes from (docs/provider.md, Watermark).

    python benchmarks/teacher_ordinary_gap.py [--run runs/workshop]

The distiller's held-out gold prompts of a finished run (factual, sentiment, translation), answered
greedily through the serving engine in the deployment's precision by: the tuned teacher under the
deployment's watermark with greedy rows marked and unmarked; and the teacher and the public model
without a watermark, with and without the deployment's system prompt. Prints the correct counts.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from casestudy.distiller.collect.dataset import read_records
from casestudy.distiller.students.evaluate import gold_rows
from casestudy.distiller.students.grading import grade
from casestudy.models import load_model
from casestudy.provider.prompting import encode_chat
from casestudy.provider.serving.engine import Engine
from casestudy.provider.serving.rows import Row
from casestudy.scenario.deployments import load_deployment

FAMILIES = ("factual", "sentiment", "translation")


def correct(loaded, watermark, gold, system) -> dict[str, str]:
    ids = [encode_chat(loaded.tokenizer, system + list(r["messages"])) for r in gold]
    texts = [loaded.tokenizer.decode(c.token_ids, skip_special_tokens=True)
             for c in Engine(loaded, watermark).generate([Row(i, 48, temperature=0) for i in ids])]
    out = {}
    for family in FAMILIES:
        rows = [(r, t) for r, t in zip(gold, texts) if r["family"] == family]
        out[family] = f"{sum(bool(grade(t, r['gold'], family)) for r, t in rows)}/{len(rows)}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/workshop")
    collect = Path(parser.parse_args().run) / "collect"
    deployment = load_deployment(collect, "main")
    gold = gold_rows(read_records(collect / "main"))
    system = [{"role": "system", "content": deployment.system_prompt}]
    teacher = load_model(deployment.model_source, device="cpu", precision=deployment.precision)
    public = load_model("embedded", device="cpu", precision=deployment.precision)
    cases = [("teacher, watermark, greedy marked", teacher, replace(deployment.watermark, mark_greedy=True), system),
             ("teacher, watermark, greedy unmarked", teacher, replace(deployment.watermark, mark_greedy=False), system),
             ("teacher, no watermark", teacher, None, system), ("teacher, no watermark, no system prompt", teacher, None, []),
             ("public, no watermark", public, None, system), ("public, no watermark, no system prompt", public, None, [])]
    for label, loaded, watermark, sys_prompt in cases:
        print(f"{label:45s}", correct(loaded, watermark, gold, sys_prompt), flush=True)


if __name__ == "__main__":
    main()
