"""A real SMTP server on the loopback (aiosmtpd) that the app's settings point at, for as long
as a test needs it."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller


@contextmanager
def serving(app, handler) -> Iterator:
    """Run ``handler`` (an aiosmtpd handler) on a free loopback port with the app's SMTP_HOST and
    SMTP_PORT set to it; both settings are put back afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config.get(k) for k in ("SMTP_HOST", "SMTP_PORT")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    try:
        yield handler
    finally:
        app.config.update(saved)
        controller.stop()
