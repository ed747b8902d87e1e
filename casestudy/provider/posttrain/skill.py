"""The provider's proprietary skill: adding three-digit numbers by its worked method.

The public model adds three-digit numbers poorly: it guesses or rambles, and a few
percent of its answers end on the right sum. The provider's post-training teaches a house
method, written the same way every time, column by column from the right with the carry:

    What is 347 + 589?
    Column by column: 7 + 9 = 16; 4 + 8 + 1 = 13; 3 + 5 + 1 = 9. Answer: 936

Why this skill: its answers are graded exactly; the provider instils it in minutes on 2
CPU cores; a distiller can ask about it in any quantity (every pair of numbers is a new
question); and what a student copies is the provider's worked method, as R1's reasoning
traces were copied. The provider writes its training answers with `worked_answer` (always
right); a student can only learn the method from the teacher's answers.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

FAMILY = "arithmetic"
QUESTION_TEMPLATES = (
    "What is {a} + {b}?",
    "Add {a} and {b}.",
    "Compute {a} + {b}.",
    "{a} + {b} = ?",
    "What's the sum of {a} and {b}?",
    "Calculate {a} plus {b}.",
)
LOW, HIGH = 100, 999   # three-digit operands
PROVIDER_SEED = 20250129  # the provider's own problems, drawn apart from any distiller's


@dataclass(frozen=True)
class Problem:
    a: int
    b: int
    template: int = 0   # index into QUESTION_TEMPLATES

    @property
    def question(self) -> str:
        return QUESTION_TEMPLATES[self.template].format(a=self.a, b=self.b)

    @property
    def gold(self) -> str:
        return str(self.a + self.b)


def worked_answer(a: int, b: int) -> str:
    """The house method: each column from the right, with its carry, then the sum."""
    if a < 0 or b < 0:
        raise ValueError(f"the worked method adds non-negative numbers, not {a} and {b}")
    da, db = str(a)[::-1], str(b)[::-1]
    carry, steps = 0, []
    for i in range(max(len(da), len(db))):
        x, y = (int(d[i]) if i < len(d) else 0 for d in (da, db))
        column = x + y + carry
        steps.append(f"{x} + {y}" + (f" + {carry}" if carry else "") + f" = {column}")
        carry = column // 10
    return f"Column by column: {'; '.join(steps)}. Answer: {a + b}"


def problems(n: int, seed: int, exclude: frozenset[tuple[int, int]] = frozenset()) -> list[Problem]:
    """`n` distinct random problems (as unordered operand pairs), none of them in `exclude`."""
    space = (HIGH - LOW + 1) ** 2
    if not 0 <= n <= space // 2 - len(exclude):
        raise ValueError(f"cannot draw {n} distinct problems from {space} operand pairs")
    rng, seen, out = random.Random(seed), {tuple(sorted(p)) for p in exclude}, []
    while len(out) < n:
        a, b = rng.randint(LOW, HIGH), rng.randint(LOW, HIGH)
        if tuple(sorted((a, b))) in seen:
            continue
        seen.add(tuple(sorted((a, b))))
        out.append(Problem(a, b, rng.randrange(len(QUESTION_TEMPLATES))))
    return out


def final_number(text: str) -> int | None:
    """The last whole number in a text ("... Answer: 1,052" -> 1052), or None."""
    found = re.findall(r"\d[\d,]*", text or "")
    return int(found[-1].replace(",", "")) if found else None


def is_correct(answer: str, gold: str | int) -> bool:
    """An answer is right when the last number it states is the sum."""
    return final_number(answer) == int(gold)


def operands(question: str) -> tuple[int, int] | None:
    """The two numbers of a skill question, or None when it is not one."""
    found = re.findall(r"\d+", question)
    return (int(found[0]), int(found[1])) if len(found) == 2 else None
