"""Logging that never writes a resident identity number in clear."""
from __future__ import annotations

import logging

from app.identifiers import scrub


class ScrubIdentifiers(logging.Filter):
    """Masks identity-number-shaped text in the final message, whatever logger produced it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_scrubber() -> None:
    """Attach the filter to every handler of the root logger and of werkzeug's request log."""
    scrubber = ScrubIdentifiers()
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The state machine library narrates every callback at INFO: keep it to warnings.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    for logger in (root, logging.getLogger("werkzeug")):
        for handler in logger.handlers:
            if not any(isinstance(f, ScrubIdentifiers) for f in handler.filters):
                handler.addFilter(scrubber)
