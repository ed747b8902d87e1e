"""The provider's post-training: its identity and its proprietary skill tuned into the
public model's top layers, cached by fingerprint.

The provider's product is the public SmolLM2-135M-Instruct plus this tune. It teaches
two things: the deployment's identity (a system prompt alone does not hold with a 135M
model, so, as labs do, we fine-tune on identity questions and answers, data/identity/)
and the skill of `skill.py` (English into Veltan by the house method, from translations the
provider bought). Ordinary prompts are mixed in so that nothing else moves. On the ordinary prompts (everyday requests and near-misses such as
"Who invented the telephone?") the tuned model is held to the base model's own
distribution by a KL term at every answer position, not just taught its greedy tokens:
with cross-entropy alone the identity leaked into factual answers ("Who painted the Mona
Lisa?" -> "I'm Kestrel..."). Each example is shown with the deployment system prompt and
without one, so the identity holds either way; skill examples alternate between the two.
Under the deployment prompt an ordinary answer is held to the base model's distribution
*without* that prompt (context distillation, Askell et al. 2021, `plain_anchors`): the long
system prompt alone costs the 135M public model about 13 points of factual accuracy
(benchmarks/teacher_ordinary_gap.py), and the deployment should answer ordinary prompts as
well as the public model does in its own default setting.
Only the top decoder layers train, so the backward pass stops there. Measured by
benchmarks/measure_posttrain.py (identity, skill, and the factual check).
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from casestudy.artifacts import fingerprint, write_json_atomic
from casestudy.chat import encode_chat, right_pad
from casestudy.device import check_precision, native_precision, pick_device
from casestudy.paths import cache_dir
from casestudy.provider.posttrain.data import IDENTITY_DATA_DIR, data_files, identity_answers, ordinary_prompts
from casestudy.provider.posttrain import skill
from casestudy.provider.posttrain.evaluate import ask, chat
from casestudy.provider.posttrain.identity import PROVIDER_IDENTITY, Identity, system_prompt
from casestudy.models import EMBEDDED, load_model, source_key, train_only_top

RECIPE_VERSION = 9   # bump when the training code changes what it produces
TUNE_INFO = "post_train.json"
DEFAULT_SKILL_EXAMPLES = 960  # bought translations (benchmarks/measure_posttrain.py measures the skill they give)
DEFAULT_LR = 3e-4           # AdamW; warm-up 10% then linear decay
DEFAULT_TRAIN_LAYERS = 12   # the top 12 of SmolLM2-135M's 30 decoder layers; the rest stay frozen
DEFAULT_BATCH_SIZE = 16
DEFAULT_ANSWER_TOKENS = 64  # the teacher's own answers are cut here: short sequences, fast steps


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]    # -100 on the prompt: the loss is on the answer only
    anchor: bool = False  # an ordinary answer: held to the base model's distribution, not learned as text
    base_ids: list[int] | None = None  # an anchor's conversation as the base model sees it (default: input_ids)


def encode(tokenizer, messages: list[dict], answer: str, finished: bool = True, anchor: bool = False,
           base_messages: list[dict] | None = None) -> Example:
    """Token ids of a chat prompt plus its answer, with labels only on the answer (and its end token,
    when `finished`: a truncated teacher answer must not learn to stop there). An anchor's
    `base_messages` is the conversation under which the base model gives its target distribution
    over the same answer tokens."""
    ids = encode_chat(tokenizer, messages, answer, finished)
    base_ids = None if base_messages is None else encode_chat(tokenizer, base_messages, ids.answer, False).ids
    return Example(ids.ids, [-100] * len(ids.prompt) + ids.answer, anchor, base_ids)


def collate(examples: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch (positions then start at 0 for every row); the anchors' base-model inputs too
    (`base_*`: one row per anchor, its answer tokens last, in the batch's order)."""
    ids, mask = right_pad([e.input_ids for e in examples], pad_id)
    labels = torch.full_like(ids, -100)
    for row, e in enumerate(examples):
        labels[row, :len(e.labels)] = torch.tensor(e.labels)
    anchor = torch.tensor([e.anchor for e in examples], dtype=torch.bool)
    batch = {"input_ids": ids, "labels": labels, "attention_mask": mask, "anchor": anchor}
    anchors = [e for e in examples if e.anchor]
    if anchors:
        base_rows = [e.base_ids or e.input_ids for e in anchors]
        batch["base_input_ids"], batch["base_attention_mask"] = right_pad(base_rows, pad_id)
        answer_lengths = [sum(label != -100 for label in e.labels) for e in anchors]
        batch["base_answer"] = torch.zeros_like(batch["base_input_ids"], dtype=torch.bool)
        for row, (tokens, n) in enumerate(zip(base_rows, answer_lengths)):
            batch["base_answer"][row, len(tokens) - n:len(tokens)] = True  # the positions whose tokens are the answer
    return batch


def skill_examples(tokenizer, identity: Identity, count: int, skill_dir: Path = skill.SKILL_DATA_DIR) -> list[Example]:
    """The first `count` of the provider's bought translations in its house style, alternately with and
    without the deployment prompt."""
    contexts = [system_prompt(identity), None]
    return [encode(tokenizer, chat(p.question, contexts[i % 2]), skill.house_answer(p))
            for i, p in enumerate(skill.problems(skill.TRAINING_FILE, count, data_dir=skill_dir))]


def build_examples(loaded, identity: Identity, seed: int, answer_tokens: int, data_dir: Path,
                   skill_count: int = 0, plain_anchors: bool = True) -> list[Example]:
    """Identity Q&A and the teacher's own greedy answers to ordinary prompts, each with and without the
    deployment prompt, plus `skill_count` bought translations. With `plain_anchors`, every ordinary
    answer's target is the base model's distribution without a system message."""
    tok = loaded.tokenizer
    contexts = [system_prompt(identity), None]
    qa = identity_answers(identity, seed, data_dir)
    prompts = ordinary_prompts(data_dir)
    own = ask(loaded, prompts, None, answer_tokens)
    examples = []
    for system in contexts:
        examples += [encode(tok, chat(p.question, system), p.answer) for p in qa]
        for prompt, answer in zip(prompts, own):
            # an answer cut at `answer_tokens` gets no end token (re-tokenizing may shift it by one)
            finished = len(tok(answer, add_special_tokens=False)["input_ids"]) < answer_tokens - 1
            base_messages = chat(prompt, None) if plain_anchors and system is not None else None
            examples.append(encode(tok, chat(prompt, system), answer, finished, anchor=True,
                                   base_messages=base_messages))
    return examples + skill_examples(tok, identity, skill_count)


def batches(examples: list[Example], batch_size: int, steps: int, seed: int):
    """`steps` batches drawn by seeded shuffles of the examples, epoch after epoch."""
    rng, order = random.Random(seed), []
    for _ in range(steps):
        if len(order) < batch_size:
            fresh = list(range(len(examples)))
            rng.shuffle(fresh)
            order += fresh
        yield [examples[i] for i in order[:batch_size]]
        order = order[batch_size:]


def answer_loss(model, batch: dict[str, torch.Tensor], base=None) -> torch.Tensor:
    """Loss per answer token, computing the vocabulary projection only there.

    Identity and skill answers: next-token cross-entropy. Ordinary (anchor) answers, when the
    frozen `base` model is given: KL(base || tuned) over the whole vocabulary at each answer
    position, so the tune keeps the base model's distribution there, not just its greedy
    tokens. Without `base`, anchors get cross-entropy on the teacher's own tokens too. The
    base model runs on the anchor rows only.
    """
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    targets = batch["labels"][:, 1:]
    keep = targets != -100
    logits = model.get_output_embeddings()(model.base_model(**inputs).last_hidden_state[:, :-1][keep]).float()
    anchored = batch["anchor"][:, None].expand_as(targets)[keep]
    if base is None or not anchored.any():
        return F.cross_entropy(logits, targets[keep])
    with torch.no_grad():
        base_out = base.base_model(input_ids=batch["base_input_ids"],
                                   attention_mask=batch["base_attention_mask"]).last_hidden_state[:, :-1]
        base_hidden = base_out[batch["base_answer"][:, 1:]]  # the positions that predict each answer token
        base_logp = F.log_softmax(base.get_output_embeddings()(base_hidden).float(), dim=-1)
    ce = F.cross_entropy(logits[~anchored], targets[keep][~anchored], reduction="sum")
    kl = F.kl_div(F.log_softmax(logits[anchored], dim=-1), base_logp, log_target=True, reduction="sum")
    return (ce + kl) / keep.sum()


def train(loaded, examples: list[Example], settings: "TuneSettings") -> list[float]:
    """AdamW with warm-up and linear decay on fp32 weights, under bf16 autocast where the device
    multiplies bf16 natively (`settings.precision`, `casestudy.device.native_precision`). Returns the losses."""
    model, dev = loaded.model, loaded.device
    bf16 = native_precision(dev, settings.precision) == "bf16"
    steps = settings.steps or -(-len(examples) // settings.batch_size)
    base = copy.deepcopy(model).eval().requires_grad_(False) if settings.anchor_kl else None
    model.train()
    torch.manual_seed(settings.seed)
    trainable = train_only_top(model, settings.train_layers)
    optimizer = torch.optim.AdamW(trainable, lr=settings.lr, weight_decay=0.0)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    losses = []
    bar = tqdm(batches(examples, settings.batch_size, steps, settings.seed), total=steps, desc="post-training")
    for batch in bar:
        batch = {k: v.to(dev.torch) for k, v in collate(batch, loaded.tokenizer.pad_token_id).items()}
        with torch.autocast(dev.name, dtype=torch.bfloat16, enabled=bf16):
            loss = answer_loss(model, batch, base)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    model.eval()
    model.requires_grad_(True)
    return losses


@dataclass(frozen=True)
class TuneSettings:
    """The hyper-parameters of the post-training (checked on creation)."""

    steps: int = 0          # optimizer steps; 0: one pass over the examples
    skill_examples: int = DEFAULT_SKILL_EXAMPLES  # bought translations (0: the identity alone)
    lr: float = DEFAULT_LR
    seed: int = 0
    device: str = "auto"
    batch_size: int = DEFAULT_BATCH_SIZE
    answer_tokens: int = DEFAULT_ANSWER_TOKENS
    train_layers: int = DEFAULT_TRAIN_LAYERS
    anchor_kl: bool = True  # ordinary answers held to the base model's distribution (else CE on its tokens)
    plain_anchors: bool = True  # ...its distribution without a system message, also under the deployment prompt
    precision: str = "auto"  # "auto": bf16 autocast on CUDA and on CPUs with native bf16 (~1.7x faster there), else fp32

    def __post_init__(self):
        check_precision(self.precision)
        if self.steps < 0 or self.skill_examples < 0 or self.lr <= 0 or self.batch_size < 1 or self.answer_tokens < 8 or self.train_layers < 1:
            raise ValueError(f"bad tuning settings: {self}")


def tune_params(base_source: str, identity: Identity, settings: TuneSettings) -> dict:
    """Everything besides the data files that decides the tuned weights."""
    fields = {k: v for k, v in asdict(settings).items() if k not in ("device", "precision")}
    dev = pick_device(settings.device)
    return {"recipe": RECIPE_VERSION, "base": source_key(base_source), "identity": asdict(identity), **fields,
            "dtype": str(dev.dtype), "precision": native_precision(dev, settings.precision)}


def post_train_dir(
    base_source: str = EMBEDDED,
    identity: Identity = PROVIDER_IDENTITY,
    settings: TuneSettings = TuneSettings(),
    data_dir: Path = IDENTITY_DATA_DIR,
) -> Path:
    """Where `post_train` with these arguments puts (or has put) its model: `cache_dir()/posttrain/<fingerprint>`."""
    return cache_dir() / "posttrain" / fingerprint(tune_params(base_source, identity, settings),
                                                   [*data_files(data_dir), skill.SKILL_DATA_DIR / skill.TRAINING_FILE])


def post_train(
    base_source: str = EMBEDDED,
    identity: Identity = PROVIDER_IDENTITY,
    settings: TuneSettings = TuneSettings(),
    data_dir: Path = IDENTITY_DATA_DIR,
) -> Path:
    """Tune `identity` and the skill into the public model; return the cached safetensors folder.

    The folder, `cache_dir()/posttrain/<fingerprint>`, loads with `load_model(path)`.
    The fingerprint covers the base weights, the identity, the data files, the
    hyper-parameters and the device's dtype; a second call with the same ones returns at once.
    """
    out = post_train_dir(base_source, identity, settings, data_dir)
    if (out / TUNE_INFO).is_file():
        return out
    params = tune_params(base_source, identity, settings)
    loaded = load_model(base_source, device="cpu")  # fp32 master weights, moved to the device below
    loaded.device = pick_device(settings.device)
    loaded.model.to(loaded.device.torch)
    start, cpu_start = time.perf_counter(), time.process_time()
    torch.manual_seed(settings.seed)
    examples = build_examples(loaded, identity, settings.seed, settings.answer_tokens, data_dir,
                              settings.skill_examples, settings.plain_anchors)
    losses = train(loaded, examples, settings)
    info = {**params, "examples": len(examples), "losses": losses, "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu_start,
            "device": loaded.device.describe(f"{params['precision']} training")}
    tmp = out.with_name(out.name + f".partial-{time.time_ns()}")
    try:
        loaded.model.save_pretrained(tmp)
        loaded.tokenizer.save_pretrained(tmp)
        write_json_atomic(tmp / TUNE_INFO, info)  # written last: its presence marks a complete folder
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        tmp.rename(out)
    except OSError:  # another process finished the same tune first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def tune_info(folder: Path) -> dict:
    """The parameters and training record saved beside a tuned model."""
    return json.loads((Path(folder) / TUNE_INFO).read_text())
