"""M4 Hourly/Weekly benchmark: an alias of ``bench/forecast_competition.py --dataset m4``.

    .venv/bin/python bench/forecast_m4.py --frequency Weekly --max-series 40

takes the options of the competition bench (``--max-series``, ``--data-dir``, ``--validation``,
``--profile`` ...) besides ``--frequency Hourly|Weekly``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import forecast_competition


def main() -> None:
    args = sys.argv[1:]
    frequency = "Weekly"
    if "--frequency" in args:
        at = args.index("--frequency")
        frequency = args[at + 1]
        del args[at : at + 2]
    sys.argv = [sys.argv[0], "--dataset", "m4", "--subset", frequency.lower(), *args]
    forecast_competition.main()


if __name__ == "__main__":
    main()
