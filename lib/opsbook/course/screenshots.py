"""Screenshots of the real Prometheus web UI (graph and alerts pages) with headless Chromium.

Why this module exists: a PNG of the actual Prometheus UI proves the stack ran, beyond charts
we drew ourselves. Debian ships the classic UI, which renders its graph with JavaScript after
load: without ``--virtual-time-budget=10000`` Chromium captures an empty graph
(docs/convenciones.md → Trampas medidas).
Chromium is optional on a course machine (``make setup`` installs it only when ``CI=true``):
when it is missing the functions return a :class:`Shot` whose ``note`` says so, never raise.
The same browser prints generated pages to PDF (:func:`print_pdf`, used by the portfolio).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from opsbook.settings import settings

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
    "--virtual-time-budget=10000",
)


@dataclass(frozen=True)
class Shot:
    """Result of one screenshot attempt.

    Attributes:
        path: the PNG written, or None when no screenshot was taken.
        url: the page requested.
        note: Spanish explanation when ``path`` is None (e.g. Chromium not installed).
    """

    path: Path | None
    url: str
    note: str = ""

    @property
    def ok(self) -> bool:
        """True when a non-empty PNG was written."""
        return self.path is not None


def browser() -> str | None:
    """Path of an installed Chromium/Chrome, or None."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def graph_url(expr: str, range_s: int = 900, base: str | None = None) -> str:
    """URL of the classic Prometheus graph page showing ``expr`` as a graph."""
    query = {"g0.expr": expr, "g0.tab": "0", "g0.range_input": f"{range_s}s"}
    return f"{base or settings.prometheus_url}/graph?{urlencode(query)}"


def alerts_url(base: str | None = None) -> str:
    """URL of the Prometheus alerts page.

    Debian's build serves the classic UI under ``/classic/`` (``/alerts`` answers 404 there;
    ``/graph`` redirects); upstream builds serve ``/alerts``. The first that answers wins.
    """
    import httpx

    from opsbook import loopback

    root = base or settings.prometheus_url
    for path in ("/classic/alerts", "/alerts"):
        try:
            if loopback.get(root + path, timeout=5, follow_redirects=True).status_code == 200:
                return root + path
        except httpx.HTTPError:
            break
    return root + "/alerts"


def _run(url: str, out: Path, args: list[str], timeout_s: float, what: str) -> Shot:
    """Run headless Chromium on ``url`` with ``args`` that write ``out``."""
    exe = browser()
    if exe is None:
        return Shot(None, url, f"Chromium no está instalado: {what} omitida (en Debian: "
                               "apt-get install chromium; make setup lo instala salvo con "
                               "OPSBOOK_MINIMAL=1)")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="opsbook-chromium-") as profile:
        argv = [exe, *FLAGS, f"--user-data-dir={profile}", *args, url]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return Shot(None, url, f"Chromium no terminó en {timeout_s:g} s: {what} omitida")
    if not out.exists() or out.stat().st_size == 0:
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        return Shot(None, url, f"Chromium no escribió la {what} (código {proc.returncode}): "
                               + " | ".join(tail))
    return Shot(out, url)


def capture(url: str, out: Path, width: int = 1400, height: int = 900,
            timeout_s: float = 90.0) -> Shot:
    """Screenshot ``url`` into ``out`` (PNG) with headless Chromium.

    Args:
        url: page to capture.
        out: destination PNG.
        width: window width in pixels.
        height: window height in pixels.
        timeout_s: deadline for the browser process.

    Returns:
        A :class:`Shot`; ``path`` is None (with a Spanish ``note``) when Chromium is missing
        or fails.
    """
    return _run(url, out, [f"--window-size={width},{height}", f"--screenshot={out}"],
                timeout_s, "captura")


def print_pdf(url: str, out: Path, timeout_s: float = 90.0) -> Shot:
    """Print ``url`` to the PDF ``out`` with headless Chromium (``--print-to-pdf``).

    Args:
        url: page to print (a ``file://`` URL for a generated page).
        out: destination PDF.
        timeout_s: deadline for the browser process.

    Returns:
        A :class:`Shot` whose ``path`` is the PDF, or None with a Spanish ``note``.
    """
    return _run(url, out, ["--no-pdf-header-footer", "--print-to-pdf-no-header",
                           f"--print-to-pdf={out}"], timeout_s,
                "copia PDF")
