"""p-values in scientific notation everywhere; tables rounded; long answers whole."""

import pandas as pd

from casestudy.formats import is_p_column, p_text, shown, wrapped


def test_a_p_value_is_written_in_scientific_notation():
    assert p_text(1.234e-5) == "1.2e-05" and p_text(0.5) == "5.0e-01" and p_text(1.0) == "1.0e+00"
    assert p_text(9.626e-07, digits=3) == "9.63e-07" and p_text(0.0) == "0.0e+00"
    assert p_text(None) == p_text(float("nan")) == "n/a"


def test_the_p_value_columns_are_told_by_their_names():
    p_values = ["p", "p_value", "mcnemar_p", "p_vs_control", "identity_p_vs_control", "ks_p_value", "watermark_p",
                "watermark p", "Fisher p"]
    others = ["params", "p(sampled)", "top_p", "green_share", "accuracy", "prompt_tokens", "copied_share"]
    assert all(map(is_p_column, p_values)) and not any(map(is_p_column, others))


def test_a_shown_table_never_rounds_a_p_value_to_zero():
    """McNemar's and Fisher's p under 1e-4 showed as 0.0 when the tables were rounded to 3 or 4 decimals."""
    table = pd.DataFrame({"model": ["teacher", "sft"], "accuracy": [0.95625, 0.94375],
                          "mcnemar_p": [None, 3.7e-12], "p_vs_control": [9.1e-23, 1.0], "n": [160, 160]})
    out = shown(table)
    assert list(out.mcnemar_p) == ["n/a", "3.7e-12"] and list(out.p_vs_control) == ["9.1e-23", "1.0e+00"]
    assert list(out.accuracy) == [0.956, 0.944] and list(out.n) == [160, 160]
    assert list(table.mcnemar_p.isna()) == [True, False]  # the table itself is left as it was


def test_wrapped_text_is_shown_whole():
    answer = "Word by word: teacher = dosa, sees = vena, green = sivu, king = varun.\nAnswer: dosa varun sivu vena"
    html = wrapped(pd.DataFrame({"teacher": [answer]})).to_html()
    assert "Answer: dosa varun sivu vena" in html and "pre-wrap" in html and "…" not in html


def test_the_notebooks_show_tables_through_these_helpers():
    """A table rounded in a notebook (`.round(3)`) shows a p of 1e-5 as 0.0; a column width cuts answers."""
    from casestudy.paths import NOTEBOOKS_DIR

    for source in sorted(NOTEBOOKS_DIR.glob("0*.py")):
        code = [line for line in source.read_text().splitlines() if not line.startswith("#")]
        assert not [line for line in code if ".round(" in line or "max_colwidth" in line], source.name
