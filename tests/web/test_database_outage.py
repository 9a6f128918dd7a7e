"""The database away (issue 17, item 4): pages answer 503 with Retry-After in the visitor's
language and the API problem details, never a 500; when it is back the next request is served.

A real PostgreSQL behind a TCP forwarder on 127.0.0.1 that the test cuts (every connection
closed, new ones refused, as a database restart does) and restores; the machine's PostgreSQL
itself is never stopped.
"""
from __future__ import annotations

import socket
import threading

import pytest
import sqlalchemy as sa
from flask_login.utils import _create_identifier
from flask_migrate import upgrade

from app import create_app
from app.extensions import db as _db
from tests.conftest import MIGRATIONS


class Forwarder:
    """127.0.0.1:<port> -> the database server, until ``cut``; ``restore`` listens again."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None

    def restore(self) -> None:
        listener = socket.socket()
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
        except OSError:
            listener.close()
            raise
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            listener.close()
        with self.lock:
            for sock in self.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            source.close()  # each socket is the source of one pump
            with self.lock:
                self.sockets.discard(source)


@pytest.fixture
def outage(throwaway_database, tmp_path, is_postgres):
    """An application whose database connections all go through a forwarder the test controls."""
    if not is_postgres:
        pytest.skip("the outage is a PostgreSQL server's (TEST_DATABASE_URL)")
    real = sa.engine.make_url(throwaway_database)
    forwarder = Forwarder(real.host or "127.0.0.1", real.port or 5432)
    forwarder.restore()
    url = real.set(host="127.0.0.1", port=forwarder.port, query={"connect_timeout": "3"})
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
                      "UPLOAD_DIR": str(tmp_path / "uploads"), "DATABASE_RETRY_AFTER": 20})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
    app.forwarder = forwarder
    try:
        yield app
    finally:
        forwarder.cut()
        with app.app_context():
            _db.engine.dispose()


def _visit(client, path: str = "/", locale: str | None = None):
    """A browser with a sign-in cookie: every request looks its session up in the database."""
    with client.session_transaction() as session:
        # Flask-Login's "strong" protection drops a session whose _id is not this browser's.
        session.update({"_user_id": "1", "sid": "s" * 43, "_fresh": True, "_id": _browser_id(client)})
        if locale:
            session["locale"] = locale
    return client.get(path)


def test_an_outage_is_a_503_in_the_visitors_language_and_the_next_request_after_it_is_served(outage):
    client = outage.test_client()
    key = {"Authorization": "Bearer key-that-needs-the-database"}
    assert _visit(client).status_code == 200
    refused = client.get("/api/records", headers=key).status_code  # an unknown key, told by the database
    assert refused in (401, 404)
    outage.forwarder.cut()

    page = _visit(client)
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "20"
    assert "服务暂时不可用" in page.get_data(as_text=True)
    english = _visit(client, locale="en")
    assert english.status_code == 503 and "The service is briefly unavailable" in english.get_data(as_text=True)

    api = client.get("/api/records", headers=key)
    assert api.status_code == 503 and api.mimetype == "application/problem+json"
    assert api.headers["Retry-After"] == "20" and api.json["status"] == 503
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200  # the process lives
    scrape = client.get("/metrics")
    assert scrape.status_code == 200 and "casedesk_database_up 0.0" in scrape.get_data(as_text=True)

    outage.forwarder.restore()
    assert _visit(client).status_code == 200
    assert client.get("/api/records", headers=key).status_code == refused


def test_a_restart_between_two_requests_costs_no_request(outage):
    """Pre-ping: the pooled connection the restart killed is tried and replaced before use."""
    client = outage.test_client()
    assert _visit(client).status_code == 200  # a connection now waits in the pool
    outage.forwarder.cut()
    outage.forwarder.restore()
    assert _visit(client).status_code == 200


def test_a_statement_error_stays_a_500(app):
    """Only a lost connection is a 503: a bug (here: a missing table) is not hidden as an outage."""
    from app.web.errors import database_unreachable

    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with pytest.raises(sa.exc.DBAPIError) as caught, engine.connect() as conn:
        conn.execute(sa.text("INSERT INTO no_such_table VALUES (1)"))
    engine.dispose()
    assert not database_unreachable(caught.value)  # SQLite calls it an OperationalError, still a bug
    refused = sa.create_engine("postgresql+psycopg://u@127.0.0.1:9/x?connect_timeout=2")
    with pytest.raises(sa.exc.OperationalError) as down:
        refused.connect()
    assert database_unreachable(down.value)


def _browser_id(client) -> str:
    """Flask-Login's identifier of the test client (address and user agent), as its "strong"
    session protection checks it: without it the session is dropped before anything is looked up."""
    with client.application.test_request_context(environ_base=client.environ_base):
        return _create_identifier()


def test_a_connection_dropped_during_a_request_does_not_fail_its_end(outage):
    """The server drops the request's connection (a restart) after the answer is made: ending
    the session must not raise, or the answer becomes a bare 500; the next request is served."""
    with outage.test_request_context():
        pid = _db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()  # a transaction is open
        with _db.engine.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    client = outage.test_client()
    assert _visit(client).status_code == 200
