"""Data directories for embedded PostgreSQL servers that tests start.

Not under pytest's temporary root: run as root, the server's own user needs that root opened (o+rx), and another
pytest process (`make pytest` runs two) closes it again (0700) when it first asks for a tmp_path, which failed
the server's initdb when both started at once."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def new_data_dir(name: str) -> Path:
    """A data directory (not created: initdb creates it) inside a fresh private parent."""
    return Path(tempfile.mkdtemp(prefix=f"chainsight-{name}-")).resolve() / "data"


def remove_data_dir(data_dir: Path) -> None:
    shutil.rmtree(data_dir.parent, ignore_errors=True)
