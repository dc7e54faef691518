"""The registry's name pattern: one meaning for the server (Python's re) and the published schema (ECMAScript)."""

from __future__ import annotations

import re

from domain.registry import NAME_PATTERN

# ECMAScript's \s (WhiteSpace and LineTerminator, ECMA-262 22.2.2.9): what a JSON Schema validator reads the pattern
# with. Python's \s also counts U+001C-U+001F and U+0085, and not U+FEFF.
_ECMASCRIPT_SPACE = r"[\t\n\x0b\x0c\r \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"


def test_a_name_is_valid_alike_for_the_server_and_the_published_schema() -> None:
    # A name of U+0085 alone passed the published pattern and the server refused it (found by schemathesis).
    spaces = _ECMASCRIPT_SPACE[1:-1]
    as_schema = re.compile(NAME_PATTERN.replace(r"\S", f"[^{spaces}]").replace(r"\s", spaces))
    as_server = re.compile(NAME_PATTERN)
    for code in range(1, 0x3001):
        name = chr(code)
        if as_schema.fullmatch(name) is not None:
            assert as_server.fullmatch(name) is not None, f"U+{code:04X}: valid by the schema, refused by the server"
    assert as_server.fullmatch("1号机房") is not None
    assert as_server.fullmatch(" ") is None
