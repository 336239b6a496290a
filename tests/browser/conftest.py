"""Real-browser fixtures: Playwright driving the system Chromium (Debian package).

Every page a user opens (evidence index, feedback, gradebook, portfolio, JupyterLab) is tested
here in a real browser. Playwright's own browser downloads are not reachable on course machines,
so it launches the Chromium that ``make setup`` installs.
"""

import shutil

import pytest


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("Chromium no está instalado: ejecuta 'make setup' (lo instala por defecto)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium,
                                      args=["--no-sandbox", "--disable-gpu"])
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-ES")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors  # tests may assert the page raised no JavaScript error
    yield pg
    context.close()
