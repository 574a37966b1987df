"""The look every PDF export and report shares: its font, colours and date formats.

Kept apart from ``pdf_document`` so the modules that format cells and columns (imported when the API starts)
do not import fpdf: it loads when a document is first drawn.
"""

from __future__ import annotations

FONT = "DejaVu"
INK = (33, 37, 41)
MUTED = (108, 117, 125)
ACCENT = (31, 78, 121)  # table headings and section rules
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M"
DATE_FORMAT = "%Y-%m-%d"
