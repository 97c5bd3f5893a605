"""The PDF printer: Chromium prints what it is given and nothing it names reaches the network."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scanfleet.reports import PdfPrinter, PdfUnavailable
from tests.support.site import FixtureSite, Page


@pytest.fixture
def decoy() -> Iterator[FixtureSite]:
    with FixtureSite() as running:
        running.add("/x.png", Page(200, [("Content-Type", "image/png")], b"\x89PNG"))
        yield running


async def test_a_page_that_names_other_servers_is_printed_without_reaching_them(decoy: FixtureSite) -> None:
    # No policy in this page: only the printer stands between it and the network.
    page = (
        f'<h1>printed</h1><img src="{decoy.url("/x.png")}"><link rel="stylesheet" href="{decoy.url("/s.css")}">'
        f'<iframe src="{decoy.url("/frame")}"></iframe><script src="{decoy.url("/x.js")}"></script>'
        f"<script>fetch('{decoy.url('/fetch')}')</script>"
    )
    printer = PdfPrinter(None, concurrency=1, seconds=30)
    try:
        pdf = await printer.print(page)
        again = await printer.print("<p>the same browser, a new page</p>")
    finally:
        await printer.close()
    assert pdf.startswith(b"%PDF-") and again.startswith(b"%PDF-")
    assert decoy.hits == {}


async def test_without_time_or_without_a_browser_it_says_which(tmp_path: object) -> None:
    hurried = PdfPrinter(None, concurrency=1, seconds=0.001)
    try:
        with pytest.raises(PdfUnavailable) as busy:
            await hurried.print("<p>x</p>")
    finally:
        await hurried.close()
    assert busy.value.code == "pdf_busy"
    missing = PdfPrinter(tmp_path / "no-chromium", concurrency=1, seconds=30)  # type: ignore[operator]
    with pytest.raises(PdfUnavailable) as unavailable:
        await missing.print("<p>x</p>")
    await missing.close()
    assert unavailable.value.code == "pdf_unavailable" and "no Chromium" in unavailable.value.message
