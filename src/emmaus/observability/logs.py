"""Log lines that carry their request's id, as text or as one JSON object a line.

`emmaus serve` hands `log_config(settings)` to uvicorn, which applies it in every worker: the
root logger (everything Emmaus logs), uvicorn's own loggers and its access log all go through
handlers with `RequestIdFilter`, so each line of a request names it (`-` outside one).
`EMMAUS_LOG_FORMAT=json` switches every handler to `JsonFormatter`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

from emmaus.config import Settings
from emmaus.observability.request_ids import current_request_id

TEXT_FORMAT = "%(levelprefix)s [%(request_id)s] %(name)s: %(message)s"
ACCESS_FORMAT = (
    '%(levelprefix)s [%(request_id)s] %(client_addr)s - "%(request_line)s" %(status_code)s'
)
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id`: the current request's id, or `-`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id", ...}`; uvicorn's access lines
    also get `client`, `method`, `path`, `http_version` and `status` as fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            entry.update(zip(_ACCESS_FIELDS, record.args, strict=False))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def log_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn (`uvicorn.run(log_config=...)`)."""
    json_lines = settings.log_format == "json"
    if json_lines:
        default: dict[str, Any] = {"()": "emmaus.observability.logs.JsonFormatter"}
        access: dict[str, Any] = default
    else:
        default = {"()": "uvicorn.logging.DefaultFormatter", "fmt": TEXT_FORMAT}
        access = {"()": "uvicorn.logging.AccessFormatter", "fmt": ACCESS_FORMAT}
    level = settings.log_level.upper()
    handler = {"filters": ["request_id"], "class": "logging.StreamHandler"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "emmaus.observability.logs.RequestIdFilter"}},
        "formatters": {"default": default, "access": access},
        "handlers": {
            "default": {**handler, "formatter": "default", "stream": "ext://sys.stderr"},
            "access": {**handler, "formatter": "access", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
            "emmaus": {"level": level},
        },
        # Libraries speak up at warnings only (faiss announces its CPU features at info).
        "root": {"handlers": ["default"], "level": "WARNING"},
    }
