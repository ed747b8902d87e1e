"""Student sizes: parameter counts, tied embeddings, SDPA."""

import pytest
from transformers import AutoTokenizer

from casestudy.distiller.students.student import SIZES, StudentConfig, count_params, make_student, size_table, student_config
from casestudy.models import embedded_model_dir


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(embedded_model_dir())


def test_sizes_span_5m_to_60m_with_tied_embeddings(tok):
    table = {r["size"]: r for r in size_table(tok)}
    assert 4.5e6 < table["5m"]["params"] < 6e6 and 55e6 < table["60m"]["params"] < 65e6
    assert [table[s]["params"] for s in SIZES] == sorted(table[s]["params"] for s in SIZES)
    # tied: the embedding is counted once, so it is > 90% of the smallest model
    assert table["5m"]["embedding_share"] > 0.9


def test_make_student_matches_table_and_uses_teacher_vocab(tok):
    model = make_student("5m", tok)
    assert count_params(model) == next(r["params"] for r in size_table(tok) if r["size"] == "5m")
    assert model.lm_head.weight is model.model.embed_tokens.weight
    assert model.config.vocab_size == len(tok) == 49152
    assert model.config._attn_implementation == "sdpa"
    assert student_config(StudentConfig(32, 2, 2, 1, 64)) == StudentConfig(32, 2, 2, 1, 64)
    with pytest.raises(ValueError, match="unknown student size '7b'"):
        student_config("7b")
