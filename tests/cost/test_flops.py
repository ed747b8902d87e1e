import pytest

from casestudy.cost.flops import (attention_flops_per_token, device_hours_for, generation_flops, implied_utilisation,
                                  training_flops)


def test_training_flops_is_6nd_without_architecture():
    assert training_flops(1e9, 1e10) == 6e19


def test_training_flops_adds_kaplan_attention_term():
    # 6·N·D + 6·n_layers·n_ctx·d_model·D
    assert training_flops(100, 10, n_layers=2, d_model=4, context=8) == 6 * 100 * 10 + 6 * 2 * 8 * 4 * 10
    assert attention_flops_per_token(2, 4, 8) == 2 * 2 * 8 * 4


def test_smollm2_teacher_pretraining_flops():
    assert training_flops(134_515_008, 2e12) == pytest.approx(1.614e21, rel=1e-3)


def test_generation_flops_is_2n_per_token_plus_attention():
    assert generation_flops(1e6, 100) == 2e8
    assert generation_flops(1e6, 100, n_layers=1, d_model=10, mean_context=5) == 100 * (2e6 + 2 * 1 * 5 * 10)


def test_device_hours_and_implied_utilisation_are_inverse():
    flops = 3.6e18
    hours = device_hours_for(flops, peak_tflops=1000, utilisation=0.5)
    assert hours == pytest.approx(2.0)
    assert implied_utilisation(flops, hours, 1000) == pytest.approx(0.5)


@pytest.mark.parametrize("call", [
    lambda: training_flops(-1, 1), lambda: generation_flops(1, -1), lambda: device_hours_for(1, 0, 0.5),
    lambda: device_hours_for(1, 100, 0), lambda: device_hours_for(1, 100, 1.5), lambda: implied_utilisation(1, 0, 1),
])
def test_bad_inputs_raise(call):
    with pytest.raises(ValueError):
        call()
