"""One colour and one order per model across every figure."""

from casestudy import palette


def test_each_model_of_the_study_has_its_own_colour():
    colours = [palette.color(name) for name in palette.BASE]
    assert len(set(colours)) == len(colours)
    assert palette.color("teacher") == "#d62728" and palette.color("sft") == "#1f77b4"


def test_derived_names_take_their_base_hue():
    assert palette.color("scratch-5m") == palette.color("scratch-30m") == palette.BASE["scratch"]
    assert palette.color("teacher (deployed)") == palette.BASE["teacher"]
    assert palette.base_name("topk@0.5") == "topk" and palette.base_name("control@0.75") == "control"
    half, most = palette.color("topk@0.5"), palette.color("topk@0.75")
    assert len({half, most, palette.color("topk")}) == 3  # a pruned start is lighter, the more was cut
    assert palette.color("topk@1.0") == palette.color("topk")


def test_unknown_names_get_a_fixed_spare_colour():
    assert palette.color("dose-1.00") == palette.color("dose-1.00") in palette.SPARE
    assert palette.color("someone") not in palette.BASE.values()


def test_the_order_is_the_studys_whatever_order_the_names_come_in():
    names = ["scratch-5m", "control", "topk@0.5", "zeta", "sft", "public", "topk", "teacher", "competitor",
             "topk@0.75", "sft"]
    assert palette.order(names) == ["teacher", "public", "sft", "topk", "topk@0.75", "topk@0.5", "control",
                                    "competitor", "scratch-5m", "zeta"]
    assert list(palette.palette(reversed(names))) == palette.order(names)
    assert palette.palette(["sft"]) == {"sft": palette.BASE["sft"]}
