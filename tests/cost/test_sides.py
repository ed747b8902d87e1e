"""Three routes to the skill, priced alike: totals, ratios, break-even."""

import pytest

from casestudy.cost.prices import AnnotationPrice, load_annotation_table
import pandas as pd

from casestudy.cost.sides import api_route, break_even, ratios, routes_table, spending, translation_route

PRICE = AnnotationPrice("p", 0.1, "2026-12-02", "a test")


def routes():
    create = translation_route("provider", 1000, 6000, compute_usd=5.0, accuracy=0.9, price=PRICE)
    copy = api_route("distiller", 800, api_usd=2.0, price_label="x (2025)", compute_usd=1.0, accuracy=0.8)
    build = translation_route("competitor", 640, 4000, compute_usd=1.0, accuracy=0.7, price=PRICE)
    return create, copy, build


def test_a_route_is_its_data_plus_its_compute():
    create, copy, build = routes()
    assert (create.data_usd, create.total_usd, create.words) == (600.0, 605.0, 6000)
    assert create.data_basis == "modelled: $0.1 per word (p, 2026-12-02)"
    assert (copy.total_usd, copy.words) == (3.0, 0)
    table = routes_table([create, copy, build], teacher_accuracy=0.9)
    assert table.loc["competitor", "total USD"] == 401.0
    assert table.loc["distiller", "share of the teacher's"] == pytest.approx(0.8 / 0.9)


def test_each_side_spends_for_its_share_of_the_skill():
    students = pd.DataFrame({"student": ["sft", "control", "competitor", "public"],
                             "arm": ["main", "control", "competitor", "main"], "copied_share": [0.9, 0.0, 0.7, None],
                             "api_usd": [2.0, 1.5, 0.0, 0.0], "measured_training_usd": [1.0, 0.5, 1.0, 0.0]})
    spent = spending(students, list(routes())).set_index("model")
    assert list(spent.side) == ["provider", "distiller", "distiller", "competitor"]  # the untrained start: nothing
    assert spent.loc["teacher", "usd"] == 605.0 and spent.loc["teacher", "share"] == 1.0
    assert spent.loc["sft", "usd"] == 3.0 and spent.loc["control", "usd"] == 2.0
    assert spent.loc["competitor", "usd"] == 401.0 and spent.loc["competitor", "share"] == 0.7  # its translations too
    alone = spending(students, [], post_training_usd=5.0)  # without the routes the translations are not priced
    assert list(alone.side) == ["provider", "distiller", "distiller"] and alone.usd.iloc[0] == 5.0


def test_ratios_and_break_even():
    create, copy, build = routes()
    assert ratios(copy, create, build) == {"copy / create": 3.0 / 605.0, "copy / build": 3.0 / 401.0}
    even = break_even(copy, build)
    # building costs what copying does when 4000 words cost 3.0 - 1.0 = $2: $0.0005 per word
    assert even["per-word price at break-even (USD)"] == pytest.approx(0.0005)
    # copying costs what building does when the API bill is 401 - 1 = $400: 200 times the $2 bill
    assert even["API price factor at break-even"] == pytest.approx(200.0)


def test_the_price_table_names_each_translation_price_with_its_source_and_date():
    prices = load_annotation_table()
    assert {p.name for p in prices} >= {"professional translation (ATA minimum)"}
    assert all(p.as_of and "http" in p.source and p.usd_per_word > 0 for p in prices)


def test_the_routes_figure_draws_each_part_and_the_skill():
    import matplotlib

    matplotlib.use("Agg")
    from casestudy.cost import plots

    figure = plots.routes(routes_table(list(routes()), teacher_accuracy=0.9))
    cost, skill = figure.axes
    assert cost.get_xscale() == "log" and len(cost.patches) == 6 and len(skill.patches) == 3
    matplotlib.pyplot.close("all")
