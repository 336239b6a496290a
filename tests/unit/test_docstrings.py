"""Self-documenting code: docstring coverage of lib/opsbook and ruff's Google-style rules."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from opsbook.course.doccheck import PACKAGE_DIR, docstring_coverage

pytestmark = pytest.mark.unit
THRESHOLD = 95.0


def test_docstring_coverage_above_threshold():
    cov = docstring_coverage()
    assert cov.total > 50
    assert cov.percent >= THRESHOLD, f"{cov.percent:.1f} % < {THRESHOLD} %: {cov.missing[:20]}"


def test_coverage_counts_a_missing_docstring(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text('"""Doc."""\n\ndef a():\n    """Doc."""\n\n\ndef b():\n    pass\n\n\n'
                              "def _private():\n    pass\n")
    cov = docstring_coverage(pkg)
    assert (cov.total, cov.documented) == (3, 2)
    assert cov.missing == ["pkg/m.py:7 b"]


def test_ruff_google_docstring_rules_pass_on_lib():
    """The pydocstyle (D) rules configured in pyproject report nothing on lib/opsbook."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    proc = subprocess.run([ruff, "check", "--output-format", "json", "--exit-zero",
                           str(PACKAGE_DIR)], capture_output=True, text=True, check=True,
                          cwd=PACKAGE_DIR.parents[1])
    rules = json.loads(proc.stdout)
    assert proc.stdout.strip().startswith("[")
    doc = [f"{r['filename']}:{r['location']['row']} {r['code']}" for r in rules
           if (r.get("code") or "").startswith("D")]
    assert not doc, doc[:20]
