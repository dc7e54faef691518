"""EMQX's published examples of what its JT/T 808 gateway publishes on `jt808/<clientid>/<phone>/up`.

1. The data exchange guide, verbatim (its placeholders `VAL` included, so not JSON as it stands):
   https://docs.emqx.com/en/emqx/latest/gateway/jt808_data_exchange.html, whose source is
   https://github.com/emqx/emqx/blob/master/apps/emqx_gateway_jt808/doc/Data_Exchange_Guide_CN.md
   ("终端到服务器" and the example of "位置信息汇报 `"msg_id": 512` 0x0200"). The guide's tables give each
   field's wire type (latitude DWORD, speed WORD, time BCD[6], ...) and say a BYTE, WORD or DWORD is an integer "in
   decimal": the wire's number, unscaled.
2. Two frames captured from a terminal, each with the JSON EMQX's parser turns it into, from EMQX's parser tests
   `t_case04_MC_LOCATION_REPORT` and `t_case05_MC_BULK_LOCATION_REPORT`:
   https://github.com/emqx/emqx/blob/master/apps/emqx_gateway_jt808/test/emqx_jt808_parser_SUITE.erl
   The bytes are the suite's, as its decimal lists; the JSON is its expected Erlang map written as JSON (keys and
   values unchanged). The terminal is in Haikou (20.0° N, 110.3° E).
"""

from __future__ import annotations

from typing import Any, Final

# The guide's "Terminal to Server" example (a 0x0001 terminal general response).
GUIDE_TERMINAL_TO_SERVER: Final = """{
  "header" : {
    "msg_id" : 1,
    "encrypt": 0,
    "len": VAL,
    "phone": 13900000000,
    "msg_sn": 0
  },
  "body": {
    "seq": 1,
    "id": 1,
    "result": 0
  }
}"""

# The guide's example of the location report. Its header is copied from the example above (msg_id 1, not 512), it
# writes `fuel_unit` and `break` where its own table and EMQX's parser say `fuel_meter` and `brake`, and it puts the
# signal bits both in `signal` and beside it: the collector reads the table's names, as EMQX's parser writes them.
GUIDE_LOCATION_REPORT: Final = """{
  "header" : {
    "msg_id" : 1,
    "encrypt": 0,
    "len": VAL,
    "phone": 13900000000,
    "msg_sn": 0
  },
  "body": {
    "alarm": VAL,
    "status": VAL,
    "latitude": VAL,
    "longitude": VAL,
    "altitude": VAL,
    "speed": VAL,
    "direction": VAL,
    "time": VAL,
    "extra": {
      "mileage": VAL,
      "fuel_unit": VAL,
      "speed": VAL,
      "alarm_id": VAL,
      "overspeed_alarm": {
        "type": VAL,
        "id": VAL
      },
      "in_out_alarm": {
        "type": VAL,
        "id": VAL,
        "direction": VAL
      },
      "path_time_alarm": {
        "id": VAL,
        "time": VAL,
        "result": VAL
      },
      "signal": {
        "low_beam": VAL,
        "high_beam": VAL
      },
      "right_turn": VAL,
      "left_turn": VAL,
      "break": VAL,
      "reverse": VAL,
      "fog": VAL,
      "side_marker": VAL,
      "horn": VAL,
      "air_conditioner": VAL,
      "neutral": VAL,
      "retarder": VAL,
      "abs": VAL,
      "heater": VAL,
      "cluth": VAL,
      "io_status": {
        "deep_sleep": VAL,
        "sleep": VAL
      },
      "analog": {
        "ad0": VAL,
        "ad1": VAL
      }
    }
  }
}"""

# t_case04_MC_LOCATION_REPORT: a 0x0200 frame from terminal 018876638972, and EMQX's JSON of it.
LOCATION_REPORT_FRAME: Final = bytes(
    [
        126, 2, 0, 0, 60, 1, 136, 118, 99, 137, 114, 0, 229, 0, 0, 0, 0, 0, 4, 0, 0, 1, 49, 122,
        103, 6, 147, 104, 81, 0, 14, 0, 0, 0, 39, 23, 16, 25, 25, 53, 56, 1, 4, 0, 0, 63, 178,
        3, 2, 0, 0, 37, 4, 0, 0, 0, 0, 42, 2, 0, 0, 43, 4, 0, 0, 0, 0, 48, 1, 31, 49, 1, 0, 171,
        126,
    ]
)  # fmt: skip

_SIGNAL_OFF: Final = {
    "abs": 0,
    "air_conditioner": 0,
    "brake": 0,
    "cluth": 0,
    "fog": 0,
    "heater": 0,
    "high_beam": 0,
    "horn": 0,
    "left_turn": 0,
    "low_beam": 0,
    "neutral": 0,
    "retarder": 0,
    "reverse": 0,
    "right_turn": 0,
    "side_marker": 0,
}

LOCATION_REPORT: Final[dict[str, Any]] = {
    "header": {"encrypt": 0, "len": 60, "msg_id": 512, "msg_sn": 229, "phone": "018876638972"},
    "body": {
        "alarm": 0,
        "altitude": 14,
        "direction": 39,
        "extra": {
            "analog": {"ad0": 0, "ad1": 0},
            "gnss_sat_num": 0,
            "io_status": {"deep_sleep": 0, "sleep": 0},
            "mileage": 16306,
            "rssi": 31,
            "signal": _SIGNAL_OFF,
            "speed": 0,
        },
        "latitude": 20019815,
        "longitude": 110323793,
        "speed": 0,
        "status": 262144,
        "time": "171019193538",
    },
}

# t_case05_MC_BULK_LOCATION_REPORT: a 0x0704 blind-zone batch (type 1) of five fixes from the same terminal.
LOCATION_BATCH_FRAME: Final = bytes(
    [
        126, 7, 4, 1, 57, 1, 136, 118, 99, 137, 114, 0, 231, 0, 5, 1, 0, 60, 0, 0, 0, 0, 0, 4, 0,
        3, 1, 49, 115, 43, 6, 145, 211, 81, 0, 31, 0, 166, 0, 171, 23, 8, 49, 16, 73, 51, 1, 4,
        0, 0, 60, 85, 3, 2, 0, 0, 37, 4, 0, 0, 0, 0, 42, 2, 0, 0, 43, 4, 0, 0, 0, 0, 48, 1, 0,
        49, 1, 12, 0, 60, 0, 0, 0, 0, 0, 4, 0, 3, 1, 49, 114, 74, 6, 145, 212, 2, 0, 29, 0, 222,
        0, 125, 2, 23, 8, 49, 16, 73, 56, 1, 4, 0, 0, 60, 85, 3, 2, 0, 0, 37, 4, 0, 0, 0, 0, 42,
        2, 0, 0, 43, 4, 0, 0, 0, 0, 48, 1, 0, 49, 1, 12, 0, 60, 0, 0, 0, 0, 0, 4, 0, 3, 1, 49,
        109, 222, 6, 145, 225, 80, 0, 37, 1, 169, 0, 109, 23, 8, 49, 16, 80, 17, 1, 4, 0, 0, 60,
        89, 3, 2, 0, 0, 37, 4, 0, 0, 0, 0, 42, 2, 0, 0, 43, 4, 0, 0, 0, 0, 48, 1, 0, 49, 1, 12,
        0, 60, 0, 0, 0, 0, 0, 4, 0, 3, 1, 49, 90, 235, 6, 146, 0, 24, 0, 43, 2, 136, 0, 114, 23,
        8, 49, 16, 81, 17, 1, 4, 0, 0, 60, 99, 3, 2, 0, 0, 37, 4, 0, 0, 0, 0, 42, 2, 0, 0, 43,
        4, 0, 0, 0, 0, 48, 1, 0, 49, 1, 12, 0, 60, 0, 0, 0, 0, 0, 4, 0, 3, 1, 49, 91, 120, 6,
        146, 43, 21, 0, 43, 2, 247, 0, 83, 23, 8, 49, 16, 82, 20, 1, 4, 0, 0, 60, 111, 3, 2, 0,
        0, 37, 4, 0, 0, 0, 0, 42, 2, 0, 0, 43, 4, 0, 0, 0, 0, 48, 1, 0, 49, 1, 12, 132, 126,
    ]
)  # fmt: skip


def _batch_item(fix: tuple[int, int, int, int, int, int, str]) -> dict[str, Any]:
    """One location of the batch from the fields that differ: altitude, direction, mileage, latitude, longitude,
    speed, time."""
    altitude, direction, mileage, latitude, longitude, speed, time = fix
    return {
        "alarm": 0,
        "altitude": altitude,
        "direction": direction,
        "extra": {
            "analog": {"ad0": 0, "ad1": 0},
            "gnss_sat_num": 12,
            "io_status": {"deep_sleep": 0, "sleep": 0},
            "mileage": mileage,
            "rssi": 0,
            "signal": _SIGNAL_OFF,
            "speed": 0,
        },
        "latitude": latitude,
        "longitude": longitude,
        "speed": speed,
        "status": 262147,
        "time": time,
    }


LOCATION_BATCH: Final[dict[str, Any]] = {
    "body": {
        "length": 5,
        "location": [
            _batch_item((31, 171, 15445, 20017963, 110220113, 166, "170831104933")),
            _batch_item((29, 126, 15445, 20017738, 110220290, 222, "170831104938")),
            _batch_item((37, 109, 15449, 20016606, 110223696, 425, "170831105011")),
            _batch_item((43, 114, 15459, 20011755, 110231576, 648, "170831105111")),
            _batch_item((43, 83, 15471, 20011896, 110242581, 759, "170831105214")),
        ],
        "type": 1,
    },
    "header": {"encrypt": 0, "len": 313, "msg_id": 1796, "msg_sn": 231, "phone": "018876638972"},
}
