"""HTML to PDF with WeasyPrint, fetching nothing but the app's own static files and data: URIs.

Needs WeasyPrint 68 or later, whose URLFetcher class replaced the fetcher function (68.0 changelog).

Templates link static files with url_for("static", ...), which WeasyPrint resolves against
`base_url`. Whatever host that URL names, the file is read from the static folder on disk,
so rendering a PDF opens no network connection.
"""

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from gaissa import PROJECT_DIR

logger = logging.getLogger(__name__)

STATIC_FOLDER = PROJECT_DIR / "static"
STATIC_URL_PATH = "/static/"


class StaticOnlyFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves files under one folder and data: URIs, and rejects the rest."""

    def __init__(self, static_folder: Path = STATIC_FOLDER, static_url_path: str = STATIC_URL_PATH):
        super().__init__(allowed_protocols=("data", "file", "http", "https"))
        self.static_folder = Path(static_folder).resolve()
        self.static_url_path = static_url_path.rstrip("/") + "/"

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            # Decoded in memory by urllib's data: handler.
            return super().fetch(url, headers)

        path = self.static_path(url)
        if path is None:
            logger.warning("Rejected a PDF resource outside the static folder: %s", url[:200])
            raise ValueError(f"Only the site's static files may be embedded in a PDF; {url[:200]!r} is not one.")
        mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime_type})

    def static_path(self, url: str) -> Path | None:
        """Return the file under the static folder that `url` names, or None when it names no such file."""
        parts = urlsplit(url)
        if parts.scheme in ("http", "https"):
            url_path = unquote(parts.path)
            if not url_path.startswith(self.static_url_path):
                return None
            candidate = self.static_folder / url_path[len(self.static_url_path):]
        elif parts.scheme == "file":
            candidate = Path(unquote(parts.path))
        else:
            return None

        resolved = candidate.resolve()
        if not resolved.is_relative_to(self.static_folder) or not resolved.is_file():
            return None
        return resolved


def render_pdf(html: str, base_url: str | None = None, static_folder: Path | None = None) -> bytes:
    """Render an HTML document to PDF bytes; relative links resolve against `base_url`."""
    fetcher = StaticOnlyFetcher(static_folder or STATIC_FOLDER)
    return HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf()
