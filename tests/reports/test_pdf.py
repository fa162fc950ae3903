"""The PDF report of a demo decision: printed by headless Chromium, rendered to PNG by pdftoppm, Chinese checked.

Text extraction proves the Chinese text is in the PDF; it cannot tell glyphs from tofu boxes (a
missing font still maps to the right code points). So the title's characters are also cut out of
the rendered page by their bounding boxes (`pdftotext -bbox`): real glyphs differ from each other,
tofu boxes are all the same.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from parkcredit.app import AppContext
from parkcredit.app.demo import DEMO_BANK, seed_demo
from parkcredit.reports.render import chromium_path
from parkcredit.server import create_app
from parkcredit.settings import Settings
from parkcredit.store import testing
from parkcredit.store.tables import Authorization

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
PEPPER = "test-pepper"
TITLE = "决策解释报告"

pytestmark = pytest.mark.skipif(
    not (chromium_path() and shutil.which("pdftoppm") and shutil.which("pdftotext")),
    reason="needs chromium and poppler-utils (installed by .ci/run)",
)


@pytest.fixture(scope="module")
def demo_pdf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[bytes, dict]]:  # type: ignore[type-arg]
    folder = tmp_path_factory.mktemp("demo")
    url = testing.sqlite_copy(testing.prepare_sqlite_template(folder), folder)
    demo_ctx = AppContext.open(Settings(database_url=url, api_key_pepper=PEPPER, model_enabled=False), with_model=False)
    tokens = seed_demo(demo_ctx)  # the demo park of `parkcredit serve --demo`
    demo_ctx.close()
    committee = {"Authorization": f"Bearer {tokens['committee']}"}
    with TestClient(create_app(Settings(database_url=url, api_key_pepper=PEPPER, model_enabled=True))) as c:
        with c.app.state.sessions() as s:  # type: ignore[attr-defined]
            uscc = s.scalars(select(Authorization.uscc).where(Authorization.bank == DEMO_BANK)).first()
        d = c.post("/v1/decisions", json={"uscc": uscc, "product": "chengxindai"}, headers=committee).json()
        r = c.get(f"/v1/decisions/{d['decision_id']}/report", params={"format": "pdf"}, headers=committee)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        yield r.content, d


def test_pdf_report_of_a_demo_decision_has_its_chinese_text(demo_pdf, tmp_path: Path) -> None:
    pdf, d = demo_pdf
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert TITLE in text
    for dim in d["trace"]:
        assert dim["zh"] in text  # 发展前景, 安全评估, 环境影响, 信用记录
    assert d["uscc"] in text and "统一社会信用代码" in text
    assert d["decision_id"] in text.replace("\n", "")


def test_pdf_renders_to_png_with_real_glyphs_not_tofu(demo_pdf, tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    pdf, _ = demo_pdf
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    dpi = 110
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(ARTIFACTS / "report-demo-page1")], check=True)  # fmt: skip
    png = ARTIFACTS / "report-demo-page1.png"
    img = mpimg.imread(png)[..., :3].mean(axis=2)  # grey, 0 = black
    assert img.shape[0] > 1000 and (img < 0.5).mean() > 0.01  # a page with ink on it
    bbox = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    m = re.search(rf'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">{TITLE}</word>', bbox)
    assert m, "title not found with a bounding box"
    x0, y0, x1, y1 = (float(v) * dpi / 72 for v in m.groups())
    width = (x1 - x0) / len(TITLE)
    cells = [img[int(y0) : int(y1), int(x0 + i * width) + 1 : int(x0 + (i + 1) * width) - 1] for i in range(len(TITLE))]
    size = min(c.shape[1] for c in cells)
    cells = [c[:, :size] for c in cells]
    assert all((c < 0.5).sum() > 20 for c in cells), "a title character drew no ink"
    diffs = [np.abs(a - b).mean() for i, a in enumerate(cells) for b in cells[i + 1 :]]
    assert min(diffs) > 0.01, "two different characters rendered identically (tofu boxes?)"
