"""Published JT/T 808 frames that more than one test reads: the codec's and the terminal encoders'."""

from __future__ import annotations

from domain.jt808.header import Version


def wire(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", "").replace("\n", ""))


# go-jt808's 0x0100 in the 2013 and 2019 widths, the same fields:
# https://github.com/cuteLittleDevil/go-jt808/blob/main/protocol/model/parse_test.go
GO_0100 = {
    Version.V2013: "7e0100002c0123456789010000001f007363640000007777772e3830382e636f6d000000000000000000373635343332"
    "3101b2e24131323334cc7e",
    Version.V2019: "7e0100405301000000000172998417380000001f0073636400000000000000000077777"
    "72e3830382e636f6d0000000000000000000000000000000000000037363534333231000000000000000000000000000000000000"
    "000000000001b2e241313233343b7e",
}
