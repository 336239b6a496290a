"""Render a ``.pptx`` to PDF and PNG pages with LibreOffice and poppler.

Why this module exists: a deck is only proven readable when someone looks at it. The day-5
notebook shows the slides as images and the tests check the pages are not blank, so the deck
is converted headlessly: ``soffice --headless -env:UserInstallation=file:///tmp/<dir>
--convert-to pdf`` (a private profile per call, so concurrent or root runs never fight over
``~/.config/libreoffice``), then ``pdftoppm -png``. Both tools are optional Debian packages
(``libreoffice-impress``, ``poppler-utils``, ``fonts-crosextra-carlito``; installed by
``make setup`` when ``CI=true``): :func:`available` says whether rendering can run.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class RenderUnavailable(RuntimeError):
    """LibreOffice or pdftoppm is not installed (the message says which package)."""


@dataclass(frozen=True)
class Rendered:
    """Output of :func:`render`.

    Attributes:
        pdf: the PDF written next to the PNGs.
        pages: one PNG per slide, in order.
    """

    pdf: Path
    pages: list[Path]


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def available() -> bool:
    """Whether both LibreOffice and pdftoppm are on ``PATH``."""
    return bool(_soffice() and shutil.which("pdftoppm"))


def missing_tools() -> list[str]:
    """Debian packages to install for rendering (empty when everything is there)."""
    out = []
    if not _soffice():
        out.append("libreoffice-impress")
    if not shutil.which("pdftoppm"):
        out.append("poppler-utils")
    return out


def render(pptx: Path, out_dir: Path, dpi: int = 60, timeout_s: float = 240) -> Rendered:
    """Convert ``pptx`` to ``<out_dir>/<stem>.pdf`` and ``<stem>-<n>.png`` pages.

    Args:
        pptx: the presentation.
        out_dir: destination folder (created).
        dpi: PNG resolution (60 → 800×450 for a 13.33 in slide).
        timeout_s: deadline for each external tool.

    Returns:
        The PDF and the page images.

    Raises:
        RenderUnavailable: when a tool is missing (names the Debian package).
        RuntimeError: when a conversion fails or produces no output (stderr included).
    """
    missing = missing_tools()
    if missing:
        raise RenderUnavailable(
            "no puedo renderizar la presentación: instala " + " ".join(missing)
            + " (apt-get install --no-install-recommends ..., o make setup sin OPSBOOK_MINIMAL=1)"
        )
    pptx, out_dir = Path(pptx).resolve(), Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="opsbook-lo-") as profile:
        proc = subprocess.run(
            [_soffice(), "--headless", "--norestore", f"-env:UserInstallation=file://{profile}",
             "--convert-to", "pdf", "--outdir", str(out_dir), str(pptx)],
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )
    pdf = out_dir / f"{pptx.stem}.pdf"
    if proc.returncode != 0 or not pdf.exists():
        raise RuntimeError(f"LibreOffice no generó {pdf.name}: {proc.stderr.strip()[-500:]}")
    for old in out_dir.glob(f"{pptx.stem}-*.png"):
        old.unlink()
    proc = subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out_dir / pptx.stem)],
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )
    pages = sorted(out_dir.glob(f"{pptx.stem}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    if proc.returncode != 0 or not pages:
        raise RuntimeError(f"pdftoppm no generó páginas: {proc.stderr.strip()[-500:]}")
    return Rendered(pdf, pages)


def ink_ratio(png: Path, threshold: int = 245) -> float:
    """Fraction of pixels darker than ``threshold`` (0 = blank page).

    Args:
        png: a rendered page.
        threshold: grey level (0..255) below which a pixel counts as ink.

    Returns:
        A number in 0..1.
    """
    from PIL import Image  # matplotlib's dependency

    with Image.open(png) as img:
        grey = img.convert("L")
        hist = grey.histogram()
    return sum(hist[:threshold]) / max(sum(hist), 1)
