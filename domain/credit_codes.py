"""The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters, the last a check character.

Layout: the registering authority (1 character: 1 机构编制, 5 民政, 9 工商...), the kind of organisation (1), the
registering authority's division code (6 digits, GB/T 2260), the organisation's own code (9: the old organisation
code, GB 11714, with its own check character), and the check character over the first 17. The character set is
the digits and the capital letters without I, O, S, V and Z (31 characters, valued 0 to 30 in that order); each of
the first 17 characters is weighted by 3^i mod 31 (1, 3, 9, 27, 19, 26, ...), and the check character is the one
worth 31 - (sum mod 31), 0 for 31.

The 2022 revision of the statistics survey asks for this code where it used to ask for the organisation code.
"""

from __future__ import annotations

from typing import Final

CHARACTERS: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, ...
LENGTH: Final = 18


def check_character(first17: str) -> str:
    """The check character of a code's first 17 characters.

    Raises:
        ValueError: `first17` is not 17 characters of the code's set.
    """
    if len(first17) != LENGTH - 1 or any(c not in CHARACTERS for c in first17):
        raise ValueError(f"{first17!r} is not 17 characters of {CHARACTERS}")
    total = sum(CHARACTERS.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARACTERS[-total % 31]


def credit_code_problem(code: str) -> str | None:
    """Why `code` is not a unified social credit code, or None when it is one."""
    if len(code) != LENGTH:
        return f"a unified social credit code (统一社会信用代码) has 18 characters, not {len(code)}"
    wrong = sorted({c for c in code if c not in CHARACTERS})
    if wrong:
        return (
            f"a unified social credit code holds digits and capital letters other than I, O, S, V and Z, not "
            f"{', '.join(map(repr, wrong))}"
        )
    if not code[2:8].isdigit():
        return f"characters 3 to 8 of a unified social credit code are a division code of 6 digits, not {code[2:8]!r}"
    expected = check_character(code[:17])
    if code[17] != expected:
        return (
            f"the check character (校验码) of {code} is {code[17]!r}, and GB 32100-2015 gives {expected!r}: a "
            "character of the code is mistyped"
        )
    return None
