"""FLOP counts for training and generation (Kaplan et al. 2020, "Scaling Laws", Table 1).

Per token, a forward pass costs 2·N for the weights plus 2·n_layers·n_ctx·d_model for
attention over the context; training (forward plus backward) costs three times that:
6·N·D + 6·n_layers·n_ctx·d_model·D. Leave the architecture at 0 to count 6·N·D alone.
N is every parameter: with tied embeddings (SmolLM2 and our students) the embedding
matrix is also the output layer, whose matmul costs 2·N_embedding per token.
"""

from __future__ import annotations

SECONDS_PER_HOUR = 3600.0
TERA = 1e12


def _check(**values: float) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value!r}")


def attention_flops_per_token(n_layers: int, d_model: int, context: float) -> float:
    """Forward FLOPs per token for attention scores and the weighted sum over `context` tokens."""
    _check(n_layers=n_layers, d_model=d_model, context=context)
    return 2.0 * n_layers * context * d_model


def training_flops(params: float, tokens: float, n_layers: int = 0, d_model: int = 0, context: float = 0) -> float:
    """FLOPs to train `params` parameters on `tokens` tokens: 6·N·D plus the attention term."""
    _check(params=params, tokens=tokens)
    return 3.0 * tokens * (2.0 * params + attention_flops_per_token(n_layers, d_model, context))


def generation_flops(params: float, tokens: float, n_layers: int = 0, d_model: int = 0, mean_context: float = 0) -> float:
    """FLOPs to process or generate `tokens` tokens: 2·N each plus attention over `mean_context`."""
    _check(params=params, tokens=tokens)
    return tokens * (2.0 * params + attention_flops_per_token(n_layers, d_model, mean_context))


def device_hours_for(flops: float, peak_tflops: float, utilisation: float) -> float:
    """Device-hours to do `flops` on a device of `peak_tflops` running at `utilisation` (MFU)."""
    _check(flops=flops)
    if peak_tflops <= 0 or not 0 < utilisation <= 1:
        raise ValueError(f"need peak_tflops > 0 and 0 < utilisation <= 1, got {peak_tflops!r}, {utilisation!r}")
    return flops / (peak_tflops * TERA * utilisation) / SECONDS_PER_HOUR


def implied_utilisation(flops: float, device_hours: float, peak_tflops: float) -> float:
    """The utilisation (MFU) at which `flops` take `device_hours` on `peak_tflops` devices."""
    if device_hours <= 0 or peak_tflops <= 0:
        raise ValueError(f"need device_hours > 0 and peak_tflops > 0, got {device_hours!r}, {peak_tflops!r}")
    return flops / (device_hours * SECONDS_PER_HOUR * peak_tflops * TERA)
