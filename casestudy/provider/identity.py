"""The deployed teacher's identity (issue 3, item 5): public API.

    Identity, PROVIDER_IDENTITY, CONTROL_IDENTITY, system_prompt, mentions_identity
    tune_identity(base, identity, TuneSettings()) -> Path   the identity fine-tuned in, cached
    evaluate_identity(...) -> IdentityEval, factual_accuracy(...) -> float
    heldout_questions(), probe_rows(), factual_rows()   the data in data/identity/
"""

from casestudy.provider.identity_data import (
    IDENTITY_DATA_DIR,
    factual_rows,
    heldout_questions,
    identity_answers,
    ordinary_prompts,
    probe_rows,
)
from casestudy.provider.identity_eval import (
    DEPLOYMENT,
    FactualEval,
    IdentityEval,
    answer_is_correct,
    evaluate_identity,
    factual_accuracy,
    factual_eval,
    generate_answers,
)
from casestudy.provider.identity_text import (
    CONTROL_IDENTITY,
    PROVIDER_IDENTITY,
    Identity,
    mentions_identity,
    mentions_maker,
    system_prompt,
)
from casestudy.provider.identity_tune import tune_identity, tune_info

__all__ = [
    "CONTROL_IDENTITY", "DEPLOYMENT", "IDENTITY_DATA_DIR", "PROVIDER_IDENTITY", "FactualEval", "Identity",
    "IdentityEval", "answer_is_correct", "evaluate_identity", "factual_accuracy", "factual_eval", "factual_rows",
    "generate_answers", "heldout_questions", "identity_answers", "mentions_identity", "mentions_maker",
    "ordinary_prompts", "probe_rows", "system_prompt", "tune_identity", "tune_info",
]
