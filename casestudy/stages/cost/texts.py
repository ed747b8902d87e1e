"""The stage's prose: money and percentages for sentences, the teacher's cost, the headline and
its caveats."""

from __future__ import annotations

from casestudy.cost.headline import best_student
from casestudy.cost.sides import break_even, ratios
from casestudy.stages.cost.inputs import RunInputs
from casestudy.stages.cost.params import Params
from casestudy.stages.cost.tables import RunCost


def usd_text(value: float) -> str:
    """Money for prose: "$5.576M", "$2,270", "$0.0012"."""
    if value >= 1e6:
        return f"${value / 1e6:,.3f}M"
    if value >= 100:
        return f"${value:,.0f}"
    if value >= 1:
        return f"${value:,.2f}"
    return f"${value:.2g}"


def percent_text(fraction: float) -> str:
    """A fraction for prose with enough digits for tiny values: "87%", "3.1%", "6.8e-08%"."""
    percent = 100 * fraction
    return f"{percent:.0f}%" if percent >= 10 else f"{percent:.2g}%"


def teacher_text(cost: RunCost, params: Params) -> str:
    t = cost.teacher
    tokens = params.teacher_train_tokens
    count = f"{tokens / 1e12:.3g}T" if tokens >= 1e12 else f"{tokens / 1e9:.3g}B"
    return (f"Pre-training the teacher on {count} tokens: {t['flops']:.3g} FLOPs, "
            f"{t['gpu_hours']:,.0f} GPU-hours at "
            f"{params.gpu_peak_tflops:g} TFLOP/s and MFU {params.gpu_utilisation:g}, {usd_text(t['usd'])} at "
            f"${params.gpu_hour_usd:g}/GPU-hour, {t['kwh']:,.0f} kWh at {params.gpu_watts:g} W per GPU "
            f"(sequence length {params.teacher_context} assumed for the attention term).")


def headline_text(cost: RunCost) -> str:
    """The story's headline in words: the share of the provider's skill the best student copied, for what."""
    best = best_student(cost.students)
    if best is None:
        return "No student was trained on the provider's answers in this run: nothing to compare."
    provider = cost.provider
    return (f"**{best['student']}** copied **{percent_text(best['copied_share'])}** of the skill the provider added "
            f"(held-out accuracy {best['skill_accuracy']:.0%}) for **{usd_text(best['distiller_usd'])}**: "
            f"{usd_text(best['api_usd'])} of API calls at {cost.price_point.label} prices and "
            f"{usd_text(best['training_usd'])} of training at the stated GPU price and MFU "
            f"({usd_text(best['measured_training_usd'])} for the device time it really took). The provider's "
            f"post-training took {provider['post_training_device_hours']:.3g} device-hours "
            f"({usd_text(provider['post_training_usd'])}) on {provider['post_training_device']}, on top of a base "
            f"model whose pre-training is estimated at {usd_text(provider['pretraining_usd'])}.")


def routes_text(cost: RunCost) -> str:
    """The three routes to the skill in words: what each cost, what it reached, the ratios and the break-even."""
    if not cost.routes:
        return ("The three routes to the skill need the teacher's skill row, a distilled student and the honest "
                "competitor's student (notebook 02): not all of them are in this run.")
    create, copy, build = cost.routes
    rate, even = ratios(copy, create, build), break_even(copy, build)
    price = cost.annotation
    return (
        f"**The provider created the skill for {usd_text(create.total_usd)}**: {create.data}, "
        f"{usd_text(create.data_usd)} at ${price.usd_per_word:g} per word (*modelled*: {price.name}, {price.as_of}), "
        f"and {usd_text(create.compute_usd)} of post-training (measured); its teacher answers "
        f"{create.skill_accuracy:.0%} of the held-out sentences. "
        f"**The distiller copied it for {usd_text(copy.total_usd)}**: {usd_text(copy.data_usd)} for {copy.data} "
        f"({copy.data_basis}, *modelled*: our teacher is not that API) and {usd_text(copy.compute_usd)} of training "
        f"(measured); its best student answers {copy.skill_accuracy:.0%}. "
        f"**The honest competitor built it for {usd_text(build.total_usd)}**: {build.data}, "
        f"{usd_text(build.data_usd)} at the same price, and {usd_text(build.compute_usd)} of training; its student "
        f"answers {build.skill_accuracy:.0%}.\n\n"
        f"Copying cost **{percent_text(rate['copy / create'])} of creating the skill** and "
        f"**{percent_text(rate['copy / build'])} of building it honestly**. It stops paying against building "
        f"when translation costs less than **${even['per-word price at break-even (USD)']:.2g} per word** (the "
        f"modelled price is ${price.usd_per_word:g}), or when the API's prices rise "
        f"**{even['API price factor at break-even']:,.0f} times**. Under all three lies the public model's "
        f"pre-training, estimated at {usd_text(cost.provider['pretraining_usd'])}: the same for everyone, paid by "
        "none of them.")


def caveats(cost: RunCost, inputs: RunInputs) -> str:
    """The caveats of the headline, as Markdown."""
    n_eval = inputs.distill.teacher_skill.n if inputs.distill.teacher_skill else None
    return "\n".join([
        f"- The translators are simulated (`casestudy.scenario.language`): their price is modelled at "
        f"${cost.annotation.usd_per_word:g} per English word, {cost.annotation.source}. Change `annotation_price` "
        "to another line of `data/prices.toml`'s `[[annotation]]`, or add your own.",
        "- The distiller's cost leaves out the base model's, as R1's distilled models' costs leave out Qwen's and "
        "Llama's: the public model was free to both sides, and what was copied is what the provider added on top.",
        "- Accuracy is measured on " + (f"{n_eval} " if n_eval else "a few ") + "held-out skill prompts; the exact "
        "intervals of notebook 02 say how coarse that is, and the copied share inherits that uncertainty.",
        f"- Training money is estimated at MFU {cost.hardware.gpu_utilisation:g} on a GPU; small models rarely reach "
        "it, so `measured_training_usd` (our device time at its price) is the other end of the range.",
        f"- The API bill prices our small teacher's tokens as if they came from {cost.price_point.label}: it is what "
        "the same collection would cost against that API, not what serving our teacher costs.",
    ])
