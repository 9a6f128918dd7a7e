"""A letter's PDF: its kind's Jinja template (templates/letters/) rendered with WeasyPrint, with
a CJK font from the system (Debian's fonts-wqy-zenhei, which .ci/run installs)."""
from __future__ import annotations

import segno
from flask import current_app
from weasyprint import HTML, URLFetcher


def qr_data_uri(url: str) -> str:
    """The verification address as a QR code, an SVG inside the letter (a data: URI)."""
    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


def render_pdf(kind: str, context: dict) -> bytes:
    """The PDF of a letter of ``kind``. Nothing is fetched from outside (data: URIs only): the
    texts in it are the applicant's and officers' own, escaped by Jinja, and must not reach out."""
    html = current_app.jinja_env.get_template(f"letters/{kind}.html").render(**context)
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()
