"""The instructor index: one row per day, every link and image resolves inside evidencia/."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from opsbook import evidence
from opsbook.course import instructor_index
from opsbook.course import runner as notebooks

pytestmark = pytest.mark.unit


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids, self.rows = [], set(), 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name):
                self.links.append(attrs[name])
        if tag == "tr":
            self.rows += 1


def check_links(index: Path) -> _Links:
    """Assert every href/src of ``index`` resolves (files relative to it, #fragments)."""
    parser = _Links()
    parser.feed(index.read_text(encoding="utf-8"))
    for link in parser.links:
        url = urlparse(link)
        assert url.scheme in ("", "file"), f"enlace externo en el índice: {link}"
        if url.path:
            target = (index.parent / unquote(url.path)).resolve()
            assert target.is_file(), f"enlace roto: {link}"
            assert index.parent.resolve() in target.parents, f"fuera de evidencia/: {link}"
        if url.fragment:
            assert not url.path and url.fragment in parser.ids, f"ancla rota: {link}"
    return parser


@pytest.fixture
def evidence_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSBOOK_EVIDENCE_DIR", str(tmp_path / "evidencia"))
    return tmp_path / "evidencia"


def test_every_link_of_the_index_resolves(evidence_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    evidence.save_figure(2, "grafico de prueba", fig, "Gráfico con espacio en el nombre")
    plt.close(fig)
    evidence.save_text(1, "informe.md", "# informe\n", "Informe")
    gone = evidence.save_text(3, "borrado.txt", "x", "Se borra después")
    gone.unlink()
    html = notebooks.html_dir() / "dia_1_testing.html"
    html.write_text("<html></html>")
    notebooks.save_status({
        "dia_1_testing": notebooks.DayRun("dia_1_testing", 1, "passed", 12.0,
                                          html="html/dia_1_testing.html"),
        "dia_2_monitoreo": notebooks.DayRun("dia_2_monitoreo", 2, "failed", 3.5, failed_cell=7,
                                            error="AssertionError: <falta> & más"),
    })
    index = instructor_index.build_index()
    parser = check_links(index)
    text = index.read_text()
    assert parser.rows == 1 + 5, "header + one row per course day"
    assert "html/dia_1_testing.html" in parser.links
    assert "dia_2/grafico de prueba.png" in parser.links
    assert "dia_1/informe.md" in parser.links
    assert not any("borrado" in link for link in parser.links)
    assert "falta</span> borrado.txt" in text, "missing evidence is shown, not omitted"
    assert "Faltan 1 evidencias" in text
    assert "falló en la celda In [7]" in text
    assert "&lt;falta&gt; &amp; más" in text, "error text must be escaped"
    assert text.count("sin ejecutar") == 3


def test_missing_html_is_not_linked(evidence_dir):
    notebooks.save_status({"dia_4_escalado": notebooks.DayRun(
        "dia_4_escalado", 4, "passed", 1.0, html="html/dia_4_escalado.html")})
    parser = check_links(instructor_index.build_index())
    assert "html/dia_4_escalado.html" not in parser.links
    rows = json.loads((evidence_dir / "html" / "estado.json").read_text())
    assert rows[0]["status"] == "passed"


@pytest.mark.slow
@pytest.mark.skipif(instructor_index.chromium() is None, reason="Chromium no instalado")
def test_screenshot_of_the_index(evidence_dir):
    shot = instructor_index.screenshot(instructor_index.build_index())
    assert shot is not None and shot.stat().st_size > 5_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_links_of_the_real_index_after_make_run():
    from opsbook.settings import settings

    index = settings.evidence_dir / instructor_index.INDEX_FILE
    if not index.exists():
        pytest.skip("evidencia/index.html aún no existe (se genera con make run / make export)")
    parser = check_links(index)
    assert parser.rows == 1 + 5
