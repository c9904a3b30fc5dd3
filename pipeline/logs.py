"""Structured logs: one JSON object per line on stderr, UTC timestamps, no secrets.

>>> import io, json, logging
>>> buf = io.StringIO(); log = get_logger("doctest", stream=buf)
>>> log_event(log, "alert.delivered", alert_id="a1", status=200)
>>> json.loads(buf.getvalue())["event"]
'alert.delivered'
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

__all__ = ["JsonFormatter", "get_logger", "log_event"]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            doc.update(fields)
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(doc, default=str, separators=(",", ":"))


def get_logger(name: str = "accessguard", *, stream: IO[str] | None = None,
               level: int = logging.INFO) -> logging.Logger:
    """A logger writing JSON lines; it does not propagate into Faust's plain-text handlers."""
    logger = logging.getLogger(name)
    if stream is not None or not logger.handlers:
        for h in list(logger.handlers):
            logger.removeHandler(h)
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def log_event(logger: logging.Logger, event: str, *, level: int = logging.INFO,
              **fields: Any) -> None:
    """Log one significant action with its fields (callers never pass secrets)."""
    logger.log(level, event, extra={"fields": fields})
