"""Webhook signatures against the fixed test vector of docs/webhooks.md, and its receiver.

The vector (secret, timestamp, body, signature) was computed with OpenSSL and written into
the doc; nothing here computes an expected signature with the product's own ``sign()``. The
product must deliver exactly that body with exactly that signature, and the receiver shown in
the doc (its code block, executed here) must accept real deliveries and refuse forgeries.
"""
from __future__ import annotations

import ast
import hashlib
import hmac
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from app import clock
from app.models import Notification, WebhookSubscription
from app.models.enums import Channel, NotificationStatus
from app.services.notices import delivery as delivery_module
from app.services.notices import dispatch_pending
from tests.factories import make_department

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _vector() -> SimpleNamespace:
    section = _doc().split("## Test vector", 1)[1]

    def cell(name):
        return re.search(rf"^\| {re.escape(name)} \| `([^`]+)`", section, re.M).group(1)

    body = re.search(r"```json\n(.*?)\n```", section, re.S).group(1)
    return SimpleNamespace(
        secret=cell("secret"),
        timestamp=cell("`X-Casedesk-Timestamp`"),
        key=cell("`X-Casedesk-Key`"),
        signature=cell("`X-Casedesk-Signature`"),
        body=body.encode("utf-8"),
    )


def _receiver_namespace(secret: bytes) -> dict:
    """The doc's receiver, executed: every top-level statement but the one that serves forever."""
    blocks = re.findall(r"```python\n(.*?)```", _doc(), re.S)
    code = next(b for b in blocks if "class Receiver" in b)
    tree = ast.parse(code)
    tree.body = [n for n in tree.body if not (isinstance(n, ast.Expr) and "serve_forever" in ast.unparse(n))]
    namespace: dict = {"__name__": "webhook_receiver_from_the_doc"}
    exec(compile(tree, str(DOC), "exec"), namespace)  # our own documentation
    namespace["SECRET"] = secret
    return namespace


class _Serving:
    def __init__(self, handler):
        self.server = HTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def serve():
    started = []

    def start(handler):
        started.append(_Serving(handler))
        return started[-1]

    yield start
    for s in started:
        s.close()


def _quiet(handler_class):
    class Quiet(handler_class):
        def log_message(self, *args):
            pass

    return Quiet


def _recording_handler(calls):
    class Recorder(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            calls.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

    return _quiet(Recorder)


def _post(url, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _signed(secret: bytes, timestamp: str, body: bytes) -> str:
    """Written from the doc's definition, for the forgeries below (not the product's ``sign``)."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _outbox_row(db, url, secret, vector=None):
    """A webhook notice in the outbox; with ``vector``, the one whose body is the vector's."""
    subscription = WebhookSubscription(department_id=make_department().id, name="receiver", url=url,
                                       secret=secret, events=["*"])
    db.session.add(subscription)
    db.session.flush()
    if vector is not None:
        sent = json.loads(vector.body)
        key, template, payload = sent["key"], sent["template"], sent["payload"]
        created = datetime.fromisoformat(sent["created_at"])
    else:
        key, template, payload, created = f"record_revoked:1:YY-1:webhook:{subscription.id}", "record_revoked", \
            {"record": "沪市监罚〔2026〕1号", "case": "YY-2026-000001"}, clock.now()
    notice = Notification(
        key=key, channel=Channel.WEBHOOK, template=template,
        payload={**payload, "_subscription": subscription.id}, status=NotificationStatus.PENDING, attempts=0,
        next_attempt_at=created, created_at=created, recipient_department_id=subscription.department_id,
    )
    db.session.add(notice)
    db.session.commit()
    return notice


# -- the vector itself -------------------------------------------------------------------------

def test_the_documented_vector_is_hmac_sha256_over_timestamp_dot_body():
    v = _vector()
    assert len(v.body) == 201 and not v.body.endswith(b"\n")
    assert _signed(v.secret.encode(), v.timestamp, v.body) == v.signature


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl on this machine")
def test_the_documented_openssl_check_prints_the_documented_signature():
    command = re.search(r"```sh\n(.*?)\n#", _doc().split("## Test vector", 1)[1], re.S).group(1)
    out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True).stdout
    assert out.split("= ")[-1].strip() == _vector().signature.removeprefix("sha256=")


def test_sign_gives_the_documented_signature():
    v = _vector()
    assert delivery_module.sign(v.secret, v.timestamp, v.body) == v.signature


# -- the product delivers the vector ----------------------------------------------------------

@pytest.fixture
def at_the_vectors_instant(monkeypatch):
    """The platform clock and the dispatcher's wall clock both at the vector's timestamp."""
    instant = int(_vector().timestamp)
    if hasattr(delivery_module, "time"):  # the signature's timestamp is read from time.time()
        monkeypatch.setattr(delivery_module, "time", SimpleNamespace(time=lambda: float(instant)))
    with clock.frozen_clock(datetime.fromtimestamp(instant, UTC)):
        yield instant


def test_the_product_delivers_the_vector_byte_for_byte(db, serve, at_the_vectors_instant):
    v = _vector()
    calls = []
    receiver = serve(_recording_handler(calls))
    notice = _outbox_row(db, receiver.url, v.secret, vector=v)
    assert dispatch_pending().sent == 1
    [(headers, body)] = calls
    assert body == v.body
    assert headers["X-Casedesk-Timestamp"] == v.timestamp
    assert headers["X-Casedesk-Signature"] == v.signature
    assert headers["X-Casedesk-Key"] == v.key == notice.key
    assert headers["Content-Type"] == "application/json; charset=utf-8"


def test_the_receiver_in_the_doc_accepts_the_products_delivery_of_the_vector(db, serve, at_the_vectors_instant):
    v = _vector()
    namespace = _receiver_namespace(v.secret.encode())
    namespace["time"] = SimpleNamespace(time=lambda: float(at_the_vectors_instant))  # its clock at the vector
    receiver = serve(_quiet(namespace["Receiver"]))
    notice = _outbox_row(db, receiver.url, v.secret, vector=v)
    assert dispatch_pending().sent == 1
    db.session.refresh(notice)
    assert notice.status == NotificationStatus.SENT
    assert namespace["seen"] == {v.key}


# -- the receiver in the doc against real deliveries and forgeries ------------------------------

def test_the_receiver_in_the_doc_accepts_a_real_delivery_once(db, serve):
    secret = "a-real-subscription-secret"
    namespace = _receiver_namespace(secret.encode())
    receiver = serve(_quiet(namespace["Receiver"]))
    notice = _outbox_row(db, receiver.url, secret)
    assert dispatch_pending().sent == 1
    db.session.refresh(notice)
    assert notice.status == NotificationStatus.SENT and namespace["seen"] == {notice.key}


def test_the_receiver_in_the_doc_refuses_a_tampered_body_a_wrong_secret_and_a_stale_timestamp(db, serve):
    secret = b"a-real-subscription-secret"
    namespace = _receiver_namespace(secret)
    calls = []
    recorder = serve(_recording_handler(calls))
    _outbox_row(db, recorder.url, secret.decode())
    dispatch_pending()  # a real delivery, captured to be replayed and tampered with
    [(headers, body)] = calls
    receiver = serve(_quiet(namespace["Receiver"]))
    sent = {k: headers[k] for k in ("Content-Type", "X-Casedesk-Key", "X-Casedesk-Timestamp", "X-Casedesk-Signature")}

    assert _post(receiver.url, body, sent) == 204  # as delivered
    tampered = body.replace("沪市监罚".encode(), "沪市监改".encode())
    assert tampered != body
    assert _post(receiver.url, tampered, sent) == 401
    forged = {**sent, "X-Casedesk-Signature": _signed(b"not-the-secret", sent["X-Casedesk-Timestamp"], body)}
    assert _post(receiver.url, body, forged) == 401
    stale = str(int(time.time()) - 301)
    replayed = {**sent, "X-Casedesk-Timestamp": stale, "X-Casedesk-Signature": _signed(secret, stale, body)}
    assert _post(receiver.url, body, replayed) == 401
    assert namespace["seen"] == {sent["X-Casedesk-Key"]}
