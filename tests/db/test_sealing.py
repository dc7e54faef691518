"""Sealing secrets (db/sealing.py): what is stored is no plain text, the newest key seals, every key given opens,
a plain value from before sealing reads as it is, and a key not given opens nothing."""

from __future__ import annotations

import pytest

from db.sealing import PREFIX, Sealer, Unsealable, new_key, sealed

URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7a1c-4bc4-97a0-0ec2f1a5b7e3"


def test_a_sealed_value_hides_its_text_and_opens_with_any_key_given() -> None:
    old, new = new_key(), new_key()
    stored = Sealer([old]).seal(URL)
    assert sealed(stored)
    assert "693a91f6" not in stored
    assert Sealer([new, old]).open(stored) == URL
    with pytest.raises(Unsealable):
        Sealer([new]).open(stored)


def test_reseal_moves_every_value_to_the_newest_key() -> None:
    old, new = new_key(), new_key()
    rotated = Sealer([new, old]).reseal(Sealer([old]).seal(URL))
    assert Sealer([new]).open(rotated) == URL
    plain = Sealer([new]).reseal(URL)  # stored before sealing began
    assert plain.startswith(PREFIX)
    assert Sealer([new]).open(plain) == URL


def test_plain_values_read_as_they_are_and_no_key_seals_nothing() -> None:
    assert Sealer([]).open(URL) == URL
    with pytest.raises(Unsealable, match="no YIWANG_SECRET_KEY"):
        Sealer([]).seal(URL)
    with pytest.raises(ValueError, match="YIWANG_SECRET_KEY"):
        Sealer(["not-a-key"])
