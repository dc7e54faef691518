"""The unified social credit code's check character (GB 32100-2015), on codes that organisations publish."""

from __future__ import annotations

import pytest

from domain.credit_codes import CHARACTERS, WEIGHTS, check_character, credit_code_problem

# Published codes. 914403001922038216: 华为技术有限公司, as its public registration shows it (cited with its check
# character 6 in public code that validates such codes, e.g. a validateUscc test and a mock company directory).
# 123502001549897397: a public institution registered by 厦门 (12 = 机构编制, 事业单位), and 91350200776049653A,
# 9135021359498494XQ, 91350213678251743X: 厦门 companies; these four from a list of real codes in a published
# validator (github 02020/vite, learn/utils/validateSocialCreditCode.js). 91330100716105852F: 阿里巴巴（中国）有限公司.
PUBLISHED = [
    "914403001922038216",
    "123502001549897397",
    "91350200776049653A",
    "9135021359498494XQ",
    "91350213678251743X",
    "91330100716105852F",
]


def test_the_weights_are_the_standards() -> None:
    # GB 32100-2015's table of weights: 3 to the power of the position, modulo 31.
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(CHARACTERS) == 31
    assert not set("IOSVZ") & set(CHARACTERS)


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_pass(code: str) -> None:
    assert check_character(code[:17]) == code[17]
    assert credit_code_problem(code) is None


def test_a_mistyped_character_is_caught_and_named() -> None:
    # The example code that circulates in documentation and test data has a wrong check character: 6, not 3.
    assert credit_code_problem("91350211M000100Y43") == (
        "the check character (校验码) of 91350211M000100Y43 is '3', and GB 32100-2015 gives '6': a character of the "
        "code is mistyped"
    )
    assert credit_code_problem("91350211M000100Y46") is None
    # Two characters swapped: the weights differ, so the check character catches it.
    swapped = "914403001922038261"
    assert credit_code_problem(swapped) is not None
    huawei = PUBLISHED[0]
    for position in range(17):
        for replacement in ("0", "A"):
            if huawei[position] == replacement:
                continue
            wrong = huawei[:position] + replacement + huawei[position + 1 :]
            if wrong[2:8].isdigit():
                assert credit_code_problem(wrong) is not None, wrong


def test_what_is_no_code_says_why() -> None:
    assert credit_code_problem("9144030019220382") == (
        "a unified social credit code (统一社会信用代码) has 18 characters, not 16"
    )
    assert credit_code_problem("9144030019220382IO") == (
        "a unified social credit code holds digits and capital letters other than I, O, S, V and Z, not 'I', 'O'"
    )
    assert credit_code_problem("9144030019220382io") is not None  # lower case is not the code's
    assert credit_code_problem("91A403001922038216") == (
        "characters 3 to 8 of a unified social credit code are a division code of 6 digits, not 'A40300'"
    )
    with pytest.raises(ValueError, match="17 characters"):
        check_character("9144")
