"""How every process logs: text for people or one JSON object a line for a log collector (YIWANG_LOG_FORMAT), set up
once by the `yiwang` command before any process starts. Beside the settings: every process goes through here."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, RFC 3339), level, logger, message, process (the `yiwang` command and pid),
    and exception (the traceback) when there is one. A message is formatted with its arguments first, so a field
    never holds an unrendered `%s`."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": self.process,
            "pid": record.process,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        # default=str: an odd object in a message's arguments is already rendered; nothing else here can fail.
        return orjson.dumps(line, default=str).decode()


def configure(level: str, form: str, process: str) -> None:
    """Set the root logger of this process: `form` text or json, at `level`; every library's logger (uvicorn's
    included: api/server.py gives it no configuration of its own) writes through it to stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(process) if form == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
