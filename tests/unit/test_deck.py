"""The executive deck: built from fixture summaries, reopened and checked against its JSON."""

from __future__ import annotations

import json

import pytest
from opsbook import evidence
from opsbook.course import deck_render, week_facts
from opsbook.course.deck import build_deck
from pptx import Presentation
from pptx.util import Emu

pytestmark = pytest.mark.unit

# Shapes as the day notebooks write them (day 2: "n/m" string; day 4: merged sections).
SUMMARIES = {
    1: {"tests_passed": 42, "tests_failed": 0, "suite_seconds": 37.4},
    2: {"metrics_covered": "13/14", "alert_latency_s": 1.87},
    3: {"drills": {"pipeline_down": {"mttr_s": 12.3, "ok": True},
                   "db_unreachable": {"mttr_s": 31.8, "ok": True}},
        "mttr_s": {"pipeline_down": 12.3, "db_unreachable": 31.8}},
    4: {"escalado": {"speedup_io_2x2": 1.7, "speedup_io_1x8": 3.1, "speedup_cpu_2x2": 1.2,
                     "speedup_cpu_1x8": 1.4, "wall_s": {"fanout_io_1x2": 40.0}},
        "despliegue": {"rate_rps": 20, "blue_green_failed": 0, "naive_restart_failed": 17},
        "schema_compatibility": {"add_optional_column": "compatible",
                                 "drop_column": "incompatible"}},
}
EXPECTED_SLIDES = 12


@pytest.fixture
def evidence_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSBOOK_EVIDENCE_DIR", str(tmp_path / "evidencia"))
    for day, summary in SUMMARIES.items():
        evidence.write_summary(day, summary)
    return tmp_path / "evidencia"


def _titles(prs):
    return [s.shapes.title.text for s in prs.slides]


def _charts(prs):
    return {i: shape.chart for i, s in enumerate(prs.slides) for shape in s.shapes
            if shape.has_chart}


def test_deck_is_16_9_and_every_placeholder_fits(evidence_dir):
    report = build_deck()
    prs = Presentation(report.path)
    assert report.path == evidence_dir / "dia_5" / "presentacion_ejecutiva.pptx"
    assert len(prs.slides) == EXPECTED_SLIDES
    assert abs(prs.slide_width / prs.slide_height - 16 / 9) < 0.01
    for n, slide in enumerate(prs.slides, 1):
        for shape in slide.shapes:
            box = (Emu(shape.left), Emu(shape.top), Emu(shape.width), Emu(shape.height))
            assert box[0] >= 0 and box[1] >= 0, (n, shape.name)
            assert box[0] + box[2] <= prs.slide_width, (n, shape.name, "sale por la derecha")
            assert box[1] + box[3] <= prs.slide_height, (n, shape.name, "sale por abajo")
    # the title placeholder spans most of the 16:9 width (not the 4:3 default of 9 in)
    assert prs.slides[1].shapes.title.width > prs.slide_width * 0.85
    # the deck is recorded in the day-5 manifest (index gallery)
    assert "presentacion_ejecutiva.pptx" in [e["file"] for e in evidence.manifest(5)]


def test_titles_state_conclusions_with_the_measured_figures(evidence_dir):
    prs = Presentation(build_deck().path)
    titles = _titles(prs)
    assert [t.split(":")[0] for t in titles[1:4]] == ["Situación", "Complicación", "Pregunta"]
    assert titles[4].startswith("Respuesta: 5 de 6 compromisos se cumplen")
    assert "42 pruebas automáticas pasan en 37,4 s" in titles[5]
    assert "13 de 14 métricas" in titles[6] and "1,9 s" in titles[6]
    assert "31,8 s como máximo (2 simulacros)" in titles[7]
    assert "no perdió ninguna petición" in titles[8] and titles[8].endswith("perdió 17")
    assert "hasta 3,1× (E/S 1×8)" in titles[9]
    assert titles[10].startswith("1 de 2 cambios de esquema son compatibles")
    assert titles[11].startswith("Riesgos y próximos pasos")
    assert len(set(titles)) == len(titles), "one idea per slide: no repeated title"
    generic = {"resultados", "métricas", "resumen", "conclusiones"}
    assert not [t for t in titles if t.strip().lower() in generic]


def test_every_chart_matches_its_source_json(evidence_dir):
    prs = Presentation(build_deck().path)
    on_disk = {d: json.loads((evidence_dir / f"dia_{d}" / "resumen.json").read_text())
               for d in SUMMARIES}
    charts = _charts(prs)
    values = {i: list(c.plots[0].series[0].values) for i, c in charts.items()}
    cats = {i: list(c.plots[0].categories) for i, c in charts.items()}
    d1, d2, d3, d4 = (on_disk[d] for d in (1, 2, 3, 4))
    covered, total = (int(x) for x in d2["metrics_covered"].split("/"))
    speedups = {k: v for k, v in d4["escalado"].items() if k.startswith("speedup_")}
    assert values[5] == [d1["tests_passed"], d1["tests_failed"]]
    assert values[6] == [covered, total - covered]
    assert cats[7] == list(d3["mttr_s"]) and values[7] == list(d3["mttr_s"].values())
    assert values[8] == [d4["despliegue"]["blue_green_failed"],
                         d4["despliegue"]["naive_restart_failed"]]
    assert values[9] == list(speedups.values())
    assert cats[9] == ["E/S 2×2", "E/S 1×8", "CPU 2×2", "CPU 1×8"]
    # speaker notes name the JSON key of every figure, and each key exists in that file
    for slide in prs.slides:
        for line in slide.notes_slide.notes_text_frame.text.splitlines():
            if line.startswith("Fuente: dia_"):
                day_file, key = line.removeprefix("Fuente: ").split(":")
                key = key.split("#")[0].replace("speedup_*", "speedup_io_1x8")
                data = on_disk[int(day_file.split("/")[0].split("_")[1])]
                assert week_facts._lookup(data, key) is not None, line


def test_missing_day_is_said_on_the_slide_not_invented(evidence_dir):
    (evidence_dir / "dia_3" / "resumen.json").unlink()
    report = build_deck()
    prs = Presentation(report.path)
    titles = _titles(prs)
    assert report.missing_days == [3]
    assert len(prs.slides) == EXPECTED_SLIDES
    assert titles[0].startswith("Pipeline de ventas: 3 de 4 días")
    assert titles[7].startswith("Día 3 sin datos medidos")
    assert 7 not in _charts(prs)
    assert "(1 sin medir)" in titles[4]
    body = " ".join(sh.text_frame.text for sh in prs.slides[11].shapes if sh.has_text_frame)
    assert "Sin medir: día 3" in body


def test_facts_accept_teammates_spellings():
    assert week_facts.normalise("count", ["a", "b", "c"]) == 3
    assert week_facts.normalise("mapping", 2.5) == {"": 2.5}
    assert week_facts.normalise("mapping", [{"drill": "x", "value": 3}]) == {"x": 3.0}
    assert week_facts.normalise("verdicts", {"a": "BACKWARD", "b": False}) == {"a": True,
                                                                               "b": False}
    assert week_facts.normalise("number", "rápido") is None
    assert week_facts._lookup({"m": "13/14"}, "m") == 13
    assert week_facts._lookup({"m": "13/14"}, "m#den") == 14
    assert week_facts._lookup({"m": 13}, "m#den") is None
    assert week_facts._lookup({"e": {"speedup_a": 2, "wall": 1}}, "e.speedup_*") == {"a": 2}
    assert week_facts.fmt(1.87, "s") == "1,9 s" and week_facts.fmt(None) == "sin datos"
    facts = week_facts.extract({1: None, 2: None, 3: None, 4: None})
    assert not any(f.present for k, f in facts.items() if k != "metrics_total")
    assert facts["metrics_total"].source == "opsbook.observability.catalog:METRICS"


@pytest.mark.slow
@pytest.mark.skipif(not deck_render.available(),
                    reason="LibreOffice/pdftoppm no instalados (make setup sin OPSBOOK_MINIMAL=1)")
def test_rendered_pages_exist_and_show_the_charts(evidence_dir, tmp_path):
    report = build_deck()
    out = deck_render.render(report.path, tmp_path / "render")
    assert out.pdf.stat().st_size > 10_000
    assert len(out.pages) == EXPECTED_SLIDES
    ink = [deck_render.ink_ratio(p) for p in out.pages]
    assert min(ink) > 0.005, f"página en blanco: {ink}"
    text_only = max(ink[1:4])  # Situación, Complicación, Pregunta: bullets only
    for i in _charts(Presentation(report.path)):
        assert ink[i] > text_only, f"la diapositiva {i + 1} no muestra su gráfico ({ink})"


def test_day_present_without_the_key_and_many_schema_checks(evidence_dir):
    modes = ("BACKWARD", "FORWARD", "FULL", "NONE")
    checks = {f"v{v} {m}": (v < 4 or m == "NONE") for v in (2, 3, 4) for m in modes}
    evidence.write_summary(4, {"schema_compatibility": checks})
    prs = Presentation(build_deck().path)
    titles = _titles(prs)
    assert titles[8].startswith("Día 4 sin la cifra necesaria")
    assert titles[10].startswith("9 de 12 comprobaciones de esquema son compatibles; 3 se")
    table = next(sh.table for sh in prs.slides[10].shapes if sh.has_table)
    rows = [[table.cell(r, c).text for c in range(2)] for r in range(len(table.rows))]
    assert rows[1:] == [["v2", "4 de 4"], ["v3", "4 de 4"],
                        ["v4", "1 de 4 — se bloquea si el modo lo exige"]]


def test_success_metrics_doc_section_is_rewritten_from_the_facts(evidence_dir, tmp_path):
    from opsbook.course.day5 import update_success_metrics

    doc = tmp_path / "metricas.md"
    doc.write_text("# Métricas\n\nescrito a mano\n<!-- valores:inicio -->\nviejo\n"
                   "<!-- valores:fin -->\npie\n")
    update_success_metrics(week_facts.week_facts(), doc)
    text = doc.read_text()
    assert "viejo" not in text and text.startswith("# Métricas\n\nescrito a mano\n")
    assert text.endswith("<!-- valores:fin -->\npie\n")
    assert "| Pruebas que pasan | 42 | `dia_1/resumen.json:tests_passed` |" in text
    doc.write_text("sin marcas")
    with pytest.raises(ValueError, match="valores:inicio"):
        update_success_metrics(week_facts.week_facts(), doc)
