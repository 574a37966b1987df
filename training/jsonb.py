"""Values for the jsonb codec from what the training code computes (numpy scalars, NaN, timestamps)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd


def jsonb_safe(value: Any) -> Any:
    """A JSON-safe copy for the jsonb codec: numpy scalars become numbers, NaN and infinities null."""
    if isinstance(value, Mapping):
        return {str(k): jsonb_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonb_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    return value
