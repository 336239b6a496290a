"""The executive deck (``evidencia/dia_5/presentacion_ejecutiva.pptx``) drawn with python-pptx.

Why this module exists: the week's results must reach management as a short, reusable
presentation generated from code, never retyped. :mod:`opsbook.course.deck_story` decides what each
slide says from the facts of :mod:`opsbook.course.week_facts` (schema of the expected
``resumen.json`` keys documented there and in ``docs/esquema_resumen.md``); this module only
draws it: 16:9, every placeholder re-laid for 16:9 (python-pptx's default template is 4:3, see
docs/convenciones.md), native charts (so the numbers stay inspectable inside the file), and the
source of every figure in the speaker notes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
from pptx.util import Emu, Inches, Pt

from opsbook import evidence
from opsbook.course.deck_story import SlideSpec, story
from opsbook.course.week_facts import DAYS, Fact, days_present, extract, load_summaries

DECK_FILE = "presentacion_ejecutiva.pptx"
WIDTH, HEIGHT = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.6)
TITLE_BOX = (MARGIN, Inches(0.6), WIDTH - 2 * MARGIN, Inches(1.3))
BODY_TOP = Inches(2.05)
BODY_BOX = (MARGIN, BODY_TOP, WIDTH - 2 * MARGIN, HEIGHT - BODY_TOP - Inches(0.5))
ACCENT = RGBColor(0x1F, 0x4E, 0x79)
MUTED = RGBColor(0x59, 0x59, 0x59)
LAYOUT_COVER, LAYOUT_BULLETS, LAYOUT_TITLE_ONLY = 0, 1, 5


@dataclass(frozen=True)
class DeckReport:
    """What :func:`build_deck` produced.

    Attributes:
        path: the written ``.pptx``.
        slides: the story that was drawn, in order.
        facts: the facts read from the summaries.
        present_days: days whose ``resumen.json`` existed.
        seconds: build time.
    """

    path: Path
    slides: list[SlideSpec]
    facts: dict[str, Fact]
    present_days: list[int]
    seconds: float

    @property
    def missing_days(self) -> list[int]:
        """Days of the week without a summary (their slides say so)."""
        return [d for d in DAYS if d not in self.present_days]


def _place(shape, box: tuple[int, int, int, int]) -> None:
    shape.left, shape.top, shape.width, shape.height = (Emu(int(v)) for v in box)


def _style_runs(frame, size: int, color: RGBColor | None = None, bold: bool = False) -> None:
    for para in frame.paragraphs:
        for run in para.runs:
            run.font.size = Pt(size)
            run.font.bold = bold
            if color is not None:
                run.font.color.rgb = color


def _set_title(slide, text: str, box=TITLE_BOX, size: int = 30) -> None:
    title = slide.shapes.title
    _place(title, box)
    title.text = text
    title.text_frame.word_wrap = True
    _style_runs(title.text_frame, size, ACCENT, bold=True)


def _section(slide, text: str) -> None:
    box = slide.shapes.add_textbox(MARGIN, Inches(0.2), WIDTH - 2 * MARGIN, Inches(0.4))
    box.text_frame.text = text.upper()
    _style_runs(box.text_frame, 12, MUTED, bold=True)


def _bullets(frame, lines: tuple[str, ...], size: int = 22) -> None:
    frame.word_wrap = True
    frame.text = lines[0] if lines else ""
    for line in lines[1:]:
        frame.add_paragraph().text = line
    _style_runs(frame, size)


def _chart(slide, spec, box) -> None:
    data = CategoryChartData(number_format=spec.chart.number_format)
    data.categories = list(spec.chart.categories)
    for name, values in spec.chart.series.items():
        data.add_series(name, list(values))
    frame = slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, *box, data)
    chart = frame.chart
    chart.has_legend = len(spec.chart.series) > 1
    if chart.has_legend:
        chart.legend.position = XL_LEGEND_POSITION.BOTTOM
    plot = chart.plots[0]
    plot.has_data_labels = True
    plot.data_labels.number_format = spec.chart.number_format
    plot.data_labels.number_format_is_linked = False
    plot.data_labels.font.size = Pt(16)
    for series in plot.series:
        series.format.fill.solid()
        series.format.fill.fore_color.rgb = ACCENT
    axis = chart.value_axis
    axis.has_title = True
    axis.axis_title.text_frame.text = spec.chart.y_title
    _style_runs(axis.axis_title.text_frame, 14)
    chart.category_axis.tick_labels.font.size = Pt(14)


def _table(slide, rows, box) -> None:
    shape = slide.shapes.add_table(len(rows), len(rows[0]), *box)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            cell = shape.table.cell(r, c)
            cell.text = str(text)
            _style_runs(cell.text_frame, 16 if len(rows) <= 7 else 13, bold=(r == 0))


def _notes(slide, spec: SlideSpec) -> None:
    lines = [f"Sección: {spec.section}"]
    lines += [f"Fuente: {s}" for s in spec.sources] or ["Fuente: narrativa (sin cifras)"]
    if spec.missing_days:
        lines.append("Sin datos del día " + ", ".join(map(str, spec.missing_days)))
    slide.notes_slide.notes_text_frame.text = "\n".join(lines)


def _draw(prs, spec: SlideSpec, first: bool) -> None:
    if first:
        slide = prs.slides.add_slide(prs.slide_layouts[LAYOUT_COVER])
        _set_title(slide, spec.title, (MARGIN, Inches(2.0), WIDTH - 2 * MARGIN, Inches(2.2)), 40)
        subtitle = slide.placeholders[1]
        _place(subtitle, (MARGIN, Inches(4.4), WIDTH - 2 * MARGIN, Inches(1.4)))
        _bullets(subtitle.text_frame, (spec.section, *spec.bullets), 20)
        _notes(slide, spec)
        return
    plain = not spec.chart and not spec.table
    slide = prs.slides.add_slide(prs.slide_layouts[LAYOUT_BULLETS if plain else LAYOUT_TITLE_ONLY])
    _section(slide, spec.section)
    _set_title(slide, spec.title)
    if plain:
        body = slide.placeholders[1]
        _place(body, BODY_BOX)
        _bullets(body.text_frame, spec.bullets)
    else:
        left, top, width, height = BODY_BOX
        side = Inches(3.6) if spec.bullets else 0
        main = (left, top, width - side, height)
        if spec.chart:
            _chart(slide, spec, main)
        else:
            _table(slide, spec.table, main)
        if spec.bullets:
            box = slide.shapes.add_textbox(left + width - side + Inches(0.3), top,
                                           side - Inches(0.3), height)
            _bullets(box.text_frame, spec.bullets, 18)
    _notes(slide, spec)


def build_deck(out: Path | None = None) -> DeckReport:
    """Build the executive deck from the week's ``resumen.json`` files.

    Args:
        out: where to write the ``.pptx``; default ``evidencia/dia_5/presentacion_ejecutiva.pptx``
            (recorded in the day-5 manifest).

    Returns:
        A :class:`DeckReport`; days without a summary appear as "sin datos" slides.
    """
    start = time.perf_counter()
    summaries = load_summaries()
    facts = extract(summaries)
    present = days_present(summaries)
    slides = story(facts, present)
    prs = Presentation()
    prs.slide_width, prs.slide_height = WIDTH, HEIGHT
    for i, spec in enumerate(slides):
        _draw(prs, spec, first=(i == 0))
    target = Path(out) if out else evidence.day_dir(5) / DECK_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    prs.save(target)
    if out is None:
        evidence.save_file(5, target, "Presentación ejecutiva generada desde los resúmenes")
    return DeckReport(target, slides, facts, present, time.perf_counter() - start)
