"""The simulated terminals' authentication codes, kept as a real terminal keeps its own in flash: a restarted
simulator authenticates with the codes it was given, since the gateway refuses a registration for a phone that
holds one (docs/device-protocol.md)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

# The file under settings.home.
JT808_CODES = "jt808_codes.json"


class Codes:
    """Codes by phone number, in a JSON file (mode 600: a code lets its holder report as the vehicle), or in memory
    only when `path` is None. Each change is written at once, by a rename, so a crash leaves the old file or the new."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._codes: dict[str, str] = {}
        if path is not None and path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                # Unreadable: the terminals register again, and are told which of them the platform still knows.
                log.warning("%s unreadable (%s): the simulated terminals register again", path, exc)
            else:
                if isinstance(loaded, dict):
                    self._codes = {str(k): str(v) for k, v in loaded.items()}

    def get(self, phone: str) -> bytes | None:
        code = self._codes.get(phone)
        return None if code is None else code.encode("latin-1")

    def put(self, phone: str, code: bytes | None) -> None:
        """Keep `phone`'s new code, or forget its code (None)."""
        if code is None:
            if self._codes.pop(phone, None) is None:
                return
        else:
            self._codes[phone] = code.decode("latin-1")
        self._write()

    def _write(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")  # mode 600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self._codes, f, indent=0, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
