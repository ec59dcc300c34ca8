"""The TRL engine's event stream: one JSON object a line on stdout, prefixed so the Node side can
tell them from library chatter. Node (lib/train/trl/bridge.ts) turns them into OUT/metrics.jsonl,
the chart and the progress line; only the main process (rank 0) emits.
"""
from __future__ import annotations

import json
import math
import os
import sys

PREFIX = "@ipo "


def is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def emit(event: str, **fields) -> None:
    if not is_main_process():
        return
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in fields.items()}
    sys.stdout.write(PREFIX + json.dumps({"event": event, **clean}) + "\n")
    sys.stdout.flush()


def info(message: str) -> None:
    emit("info", message=message)
