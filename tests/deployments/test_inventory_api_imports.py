"""A new InventoryAPI replica imports its routes without the model and drawing libraries: forecasting
(statsforecast, statsmodels), PDF (fpdf) and charts (matplotlib) load when a request first needs them.

Until 2026-12-08 importing ``deployments.inventory_api`` loaded all four, about 5.8 s of CPU paid by every new
replica (autoscaling, a replica replacing a killed one) before it could answer a CRUD request.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DEFERRED = ("statsforecast", "statsmodels", "fpdf", "matplotlib")
REPO = Path(__file__).resolve().parents[2]


def test_importing_the_api_replica_leaves_forecasting_pdf_and_chart_libraries_unloaded():
    code = (
        "import json, sys; import deployments.inventory_api;"
        f"print(json.dumps(sorted(m for m in {DEFERRED!r} if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120, cwd=REPO
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
