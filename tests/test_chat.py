"""The shared chat encoder and greedy generator: one stop rule for the provider's checks and the students' grades.

The generator is pinned on a tiny Llama whose greedy next token depends only on the current
one (one-hot embeddings, attention and MLP outputs zeroed, a hand-set output layer), so
its answer is a chain written here: " Paris." + "\\n\\n", then <|endoftext|>, " Rome",
<|im_end|>, then " junk" for ever.
"""

import pytest
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from casestudy.chat import chat_text, encode_chat, greedy_answers, left_pad, stop_ids
from casestudy.models import embedded_model_dir

ASK = [[{"role": "user", "content": "What is the capital of France?"}],
       [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France, in a word?"}]]


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(embedded_model_dir())


def ids(tok, text: str) -> int:
    (one,) = tok(text, add_special_tokens=False)["input_ids"]
    return one


@pytest.fixture(scope="module")
def chain(tok):
    """A tiny Llama that answers any prompt (its last token is "\\n") with the chain above."""
    end_of_text, end_of_turn = 0, tok.eos_token_id
    steps = [ids(tok, "\n"), ids(tok, " "), ids(tok, "Paris"), ids(tok, "."), ids(tok, "\n\n"), end_of_text,
             ids(tok, " Rome"), end_of_turn, ids(tok, " junk")]
    slots = len(steps) - 1  # the last step (" junk") shares the first slot: the chain loops from there
    config = LlamaConfig(vocab_size=len(tok), hidden_size=slots, intermediate_size=4, num_hidden_layers=1,
                         num_attention_heads=1, num_key_value_heads=1, head_dim=slots, tie_word_embeddings=False,
                         eos_token_id=end_of_text, pad_token_id=tok.pad_token_id)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        embed = torch.zeros(len(tok), slots)
        embed[:, 0] = 1.0  # every other token, the prompt's last "\n" among them, is slot 0
        head = torch.zeros(len(tok), slots)
        for slot, (now, after) in enumerate(zip(steps[:-1], steps[1:])):
            embed[now] = torch.nn.functional.one_hot(torch.tensor(slot), slots).float()
            head[after, slot] = 1.0
        model.model.embed_tokens.weight.copy_(embed)
        model.lm_head.weight.copy_(head)
    return model


def test_the_encoder_renders_the_template_and_appends_the_end_token(tok):
    text = chat_text(tok, ASK[0])
    assert text.endswith("<|im_start|>assistant\n") and "capital of France" in text
    assert chat_text(tok, ASK[0], "Paris.").endswith("<|im_start|>assistant\nParis.<|im_end|>\n")
    done = encode_chat(tok, ASK[0], "Paris.")
    assert done.prompt == tok(text, add_special_tokens=False)["input_ids"]
    assert done.answer == tok("Paris.", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert encode_chat(tok, ASK[0], "Paris.", finished=False).answer == done.answer[:-1]
    assert encode_chat(tok, ASK[0], [5, 6], finished=False).ids == done.prompt + [5, 6]
    assert encode_chat(tok, ASK[0]).answer == []


def test_left_pad_aligns_rows_at_the_right():
    ids, mask = left_pad([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_stops_at_any_end_token_and_strips(tok, chain):
    assert stop_ids(chain, tok) == [0, tok.eos_token_id]  # the generation config's and the tokenizer's
    # The first end token of the chain is the generation config's <|endoftext|>: "\n\n" before it is stripped.
    assert greedy_answers(chain, tok, ASK, max_new_tokens=12) == ["Paris.", "Paris."]
    # Without it, the tokenizer's <|im_end|> still stops the answer; the special token between is skipped.
    chain.generation_config.eos_token_id = None
    try:
        assert greedy_answers(chain, tok, ASK[:1], max_new_tokens=12) == ["Paris.\n\n Rome"]
    finally:
        chain.generation_config.eos_token_id = 0
    assert greedy_answers(chain, tok, ASK[:1], max_new_tokens=2) == ["Paris"]  # cut by the token budget


def test_batched_answers_equal_one_at_a_time_and_keep_the_mode(tok):
    from casestudy.distiller.students.student import StudentConfig, make_student

    model = make_student(StudentConfig(32, 2, 2, 1, 64, 256), tok, seed=3).train()
    both = greedy_answers(model, tok, ASK, max_new_tokens=6, batch_size=2)
    alone = [greedy_answers(model, tok, [m], max_new_tokens=6)[0] for m in ASK]
    assert both == alone and all(isinstance(a, str) for a in both)
    assert model.training  # put back in training mode after answering
