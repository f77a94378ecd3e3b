"""Smoke tests of the built documentation site (run by `nox -s docs` after `mkdocs build --strict`).

The site is served on localhost and opened in headless Chromium (Debian's `chromium` package): every
page renders, every tutorial shows its plots, every internal link and image resolves offline.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import threading
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

SITE = Path(os.environ.get("STOCHFLOW_SITE", Path(__file__).resolve().parents[2] / "site"))
PAGES = sorted(SITE.rglob("index.html")) if SITE.is_dir() else []
TUTORIALS = [p for p in PAGES if p.parent.parent.name == "tutorials" and p.parent.name != "tutorials"]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Debian's chromium is not installed: `nox -s docs` installs it with apt-get"
    return exe


def _render(url: str, *extra: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--virtual-time-budget=5000"]
    with __import__("tempfile").TemporaryDirectory() as profile:
        return subprocess.run([_chromium(), *flags, f"--user-data-dir={profile}", *extra, url],
                              capture_output=True, text=True, timeout=120)


def _rel(page: Path) -> str:
    return page.parent.relative_to(SITE).as_posix() + "/" if page.parent != SITE else ""


def test_site_was_built():
    assert (SITE / "index.html").is_file(), f"no built site at {SITE}: run mkdocs build first"
    assert TUTORIALS, "the site has no tutorial pages"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: _rel(p) or "home")
def test_internal_links_and_images_resolve(page):
    parser = _Links()
    parser.feed(page.read_text())
    base = "http://site/" + _rel(page)
    for ref in parser.links + parser.images:
        url = urlparse(urljoin(base, ref))
        if url.netloc != "site" or ref.startswith("#"):
            continue
        target = SITE / url.path.lstrip("/")
        if url.path.endswith("/") or not target.suffix:
            target = target / "index.html"
        assert target.exists(), f"{_rel(page)}: broken link {ref!r}"


@pytest.mark.parametrize("page", TUTORIALS + [SITE / "index.html", SITE / "architecture" / "index.html"],
                         ids=lambda p: _rel(p) or "home")
def test_page_renders_in_headless_chromium_with_its_plots(server, page, tmp_path):
    url = urljoin(server, _rel(page))
    dom = _render(url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert "<article" in html and "</article>" in html, "the page's content did not render"
    title = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert title, "no heading rendered"
    article = html[html.index("<article"):html.index("</article>")]
    is_plot_page = page in TUTORIALS or page.parent.name == "architecture"
    if is_plot_page:
        figures = len(re.findall(r"<svg[^>]*viewBox", article)) + len(re.findall(r"<img ", article))
        assert figures >= 1, f"{_rel(page)} renders no plot"
        for src in re.findall(r'<img [^>]*src="([^"]+)"', article):
            with urllib.request.urlopen(urljoin(url, src)) as resp:
                assert resp.status == 200 and len(resp.read()) > 100, src
    shot = tmp_path / "page.png"
    png = _render(url, f"--screenshot={shot}", "--window-size=1200,1600")
    assert png.returncode == 0 and shot.stat().st_size > 10_000, "the screenshot is empty"
