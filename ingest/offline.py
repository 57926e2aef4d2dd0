"""Configure every library that would reach a model hub or a telemetry server never to try.

Called before any heavy import (sentence-transformers, transformers, chromadb, unstructured).
"""

from __future__ import annotations

import os

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",  # unstructured
    "UNSTRUCTURED_DISABLE_NOTICE": "1",  # its sign-up notice (a URL) on stdout, into --json output
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def enforce_offline() -> None:
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ[key] = value
