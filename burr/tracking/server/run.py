"""``uvicorn burr.tracking.server.run:app`` (Apache Burr's entry point): storage from ``$BURR_STORAGE_DIR``."""

from __future__ import annotations

import json
import os

from burr.tracking.server.app import create_burr_ui_app

app = create_burr_ui_app(
    read_only=os.environ.get("BURR_READ_ONLY", "").lower() in ("1", "true", "yes"),
    token=os.environ.get("BURR_TOKEN") or None,
    persister_dbs=json.loads(os.environ.get("BURR_PERSISTER_DBS") or "[]"),
)
