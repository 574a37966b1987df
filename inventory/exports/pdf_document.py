"""The page every PDF export and report shares: Unicode fonts, a title block that says what produced the
document (tenant, time, filter), section headings, embedded chart images, and a footer with "Page 2 of 5".

Text is set in DejaVu Sans, which covers Latin (ü, ł, ő ...), Greek and Cyrillic: the PDF core fonts cover
Latin-1 only. The TTF files ship with matplotlib (``mpl-data/fonts/ttf``), which the reports use for charts;
they are located without importing matplotlib.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from importlib.util import find_spec
from pathlib import Path

from fpdf import FPDF

from inventory.exports.pdf_style import ACCENT, FONT, INK, MUTED, TIMESTAMP_FORMAT
from inventory.schemas import zone_name


def font_dir() -> Path:
    """matplotlib's bundled TrueType fonts (DejaVu Sans regular and bold among them)."""
    spec = find_spec("matplotlib")  # locates the package without importing (and configuring) it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib is not installed: its DejaVu fonts are needed for PDF exports")
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"


class ReportDocument(FPDF):
    """An A4 document (landscape by default) with the title, tenant and filter repeated in its running header."""

    def __init__(
        self, title: str, tenant: str, generated: datetime, filter_text: str, *, orientation: str = "landscape"
    ) -> None:
        super().__init__(orientation=orientation, format="A4")
        fonts = font_dir()
        self.add_font(FONT, "", str(fonts / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
        self.report_title = title
        self.tenant = tenant
        # The reader's time zone (their profile's, UTC without one): the times in the report are shown in it.
        self.generated = generated if generated.tzinfo is not None else generated.replace(tzinfo=UTC)
        self.filter_text = filter_text
        self.set_title(title)
        self.set_creator("Chainsight")
        self.set_auto_page_break(auto=True, margin=16)
        self.set_margins(12, 14, 12)
        self.set_text_color(*INK)

    @property
    def zone(self) -> tzinfo:
        return self.generated.tzinfo or UTC

    @property
    def zone_name(self) -> str:
        return zone_name(self.zone)

    def header(self) -> None:
        if self.page_no() == 1:
            return  # the first page carries the full title block instead
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"{self.report_title} · {self.tenant}", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        width = self.w - self.l_margin - self.r_margin
        stamp = f"Generated {self.generated:{TIMESTAMP_FORMAT}} {self.zone_name} · {self.filter_text}"
        self.cell(width * 0.8, 5, _fit(self, stamp, width * 0.8))
        # {nb} is fpdf2's alias for the total page count, filled in when the document is output.
        self.cell(width * 0.2, 5, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(*INK)

    def title_block(self, facts: Sequence[tuple[str, str]] = ()) -> None:
        """The first page's heading: title, tenant, time, the filter, then ``facts`` (label, value)."""
        if self.page_no() == 0:
            self.add_page()
        self.set_font(FONT, "B", 16)
        self.cell(0, 9, self.report_title, new_x="LMARGIN", new_y="NEXT")
        self.set_font(FONT, "", 9.5)
        lines = [
            ("Tenant", self.tenant),
            ("Generated", f"{self.generated:{TIMESTAMP_FORMAT}} {self.zone_name}"),
            ("Filter", self.filter_text),
            *facts,
        ]
        for label, value in lines:
            self.set_font(FONT, "B", 9.5)
            self.cell(self.get_string_width(f"{label}: ") + 0.5, 5.5, f"{label}: ")
            self.set_font(FONT, "", 9.5)
            self.multi_cell(0, 5.5, value, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def heading(self, text: str, size: float = 12) -> None:
        self.set_font(FONT, "B", size)
        self.set_text_color(*ACCENT)
        # Wrapped, not one cell: a heading wider than the page would run past its edge.
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)

    def name_heading(self, before: str, name: str, after: str, size: float = 12) -> None:
        """``before + name + after`` on one line: the name cut with "…" to fit, the codes around it kept whole (a
        200-character product name would otherwise push the warehouse code off the page, or wrap)."""
        self.set_font(FONT, "B", size)
        room = self.usable_width() - 2 * self.c_margin - self.get_string_width(before + after)
        self.heading(before + _fit(self, name, room) + after, size)

    def paragraph(self, text: str, size: float = 9, muted: bool = False) -> None:
        self.set_font(FONT, "", size)
        if muted:
            self.set_text_color(*MUTED)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)

    def png(self, image: bytes, width: float, height: float, x: float | None = None) -> None:
        """A chart image at the current line (on a new page when it does not fit), then the line below it."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()
        top = self.get_y()
        self.image(io.BytesIO(image), x=self.l_margin if x is None else x, y=top, w=width, h=height)
        self.set_y(top + height + 1)

    def usable_width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def finish(self) -> bytes:
        return bytes(self.output())


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` in the current font (a long filter in the footer)."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"
