"""bench.ingest_profile puts each sampled stack in the first part of the path it passes through."""

from __future__ import annotations

from pathlib import Path

from bench.ingest_profile import parts


def test_each_sample_goes_to_the_first_part_its_stack_passes_through(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    loop = "<module> (yiwang/cli.py:9);BaseEventLoop._run_once (asyncio/base_events.py:1922)"
    raw.write_text(
        "\n".join(
            [
                f"{loop};Session._read (collector/mqtt.py:80);decode_publish (collector/wire.py:60) 6",
                f"{loop};Session._read (collector/mqtt.py:80);Inbox.put (collector/inbox.py:61) 2",
                f"{loop};Writer._write_once (collector/writer.py:9);Writer._prepare (collector/writer.py:9);"
                "parse_items (collector/contract.py:9);BaseModel.model_validate (pydantic/main.py:9) 3",
                f"{loop};EpollSelector.select (selectors.py:468) 4",
                "<module> (yiwang/cli.py:1);_find_and_load (<frozen importlib._bootstrap>:1) 50",
                "Thread.run (threading.py:1);_worker (concurrent/futures/thread.py:81) 9",
                "",
            ]
        )
    )
    counted, total = parts(raw)
    assert total == 15  # start-up and the sleeping executor thread left out
    assert counted == {
        "receive: PUBLISH decode (MQTT 5 properties)": 6,
        "receive: into the inbox": 2,
        "validate: pydantic models": 3,
        "waiting (selector)": 4,
    }
