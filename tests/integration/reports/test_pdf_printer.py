"""The PDF printer: Chromium prints what it is given and nothing it names reaches the network; one print past its
budget does not take the others down; a queued print renders nothing before its turn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Route

from scanfleet.reports import PdfPrinter, PdfUnavailable, pdf
from tests.integration.reports.conftest import held_until
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


async def test_without_time_or_without_a_browser_it_says_which(tmp_path: Path) -> None:
    hurried = PdfPrinter(None, concurrency=1, seconds=0.001)
    try:
        with pytest.raises(PdfUnavailable) as busy:
            await hurried.print("<p>x</p>")
    finally:
        await hurried.close()
    assert busy.value.code == "pdf_busy"
    missing = PdfPrinter(tmp_path / "no-chromium", concurrency=1, seconds=30)
    with pytest.raises(PdfUnavailable) as unavailable:
        await missing.print("<p>x</p>")
    await missing.close()
    assert unavailable.value.code == "pdf_unavailable" and "no Chromium" in unavailable.value.message


async def test_a_print_past_its_budget_leaves_the_others_printing(monkeypatch: pytest.MonkeyPatch) -> None:
    slow_reached, held_reached, release = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def refuse(route: Route) -> None:
        # The slow page's image never arrives (its print misses the budget); the other's waits for the test.
        url = route.request.url
        if url.startswith(("http://slow.test/", "http://held.test/")):
            (slow_reached if "slow" in url else held_reached).set()
            await release.wait()
        with contextlib.suppress(PlaywrightError):  # the slow page's context is gone by then
            await route.abort("blockedbyclient")

    monkeypatch.setattr(pdf, "_refuse", refuse)
    printer = PdfPrinter(None, concurrency=2, seconds=60)
    try:
        await printer.print("<p>the browser, launched</p>")
        printer._seconds = 1.0  # the slow print's budget; the held one gets a minute
        slow = asyncio.create_task(printer.print('<img src="http://slow.test/x.png">'))
        await asyncio.wait_for(slow_reached.wait(), 30)
        printer._seconds = 60
        held = asyncio.create_task(printer.print('<p>held</p><img src="http://held.test/x.png">'))
        await asyncio.wait_for(held_reached.wait(), 30)
        with pytest.raises(PdfUnavailable) as busy:
            await slow
        release.set()
        printed = await held
    finally:
        release.set()
        await printer.close()
    assert busy.value.code == "pdf_busy"
    assert printed.startswith(b"%PDF-")


async def test_a_queued_print_renders_nothing_until_it_has_a_slot() -> None:
    printer = PdfPrinter(None, concurrency=1, seconds=1.0)
    holding, release = asyncio.Event(), asyncio.Event()
    rendered: list[str] = []

    async def first() -> str:
        holding.set()
        await held_until(release)
        return "<p>first</p>"

    async def second() -> str:
        rendered.append("second")
        return "<p>second</p>"

    try:
        held = asyncio.create_task(printer.render_and_print(first))
        await asyncio.wait_for(holding.wait(), 30)
        with pytest.raises(PdfUnavailable) as busy:
            await printer.render_and_print(second)  # waits its whole budget for the slot held by the first
        assert busy.value.code == "pdf_busy" and rendered == []
        release.set()
        with pytest.raises(PdfUnavailable):  # its budget passed while it held the slot
            await held
    finally:
        release.set()
        await printer.close()
