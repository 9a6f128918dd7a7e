"""The webhook address rule (issue 13, item 5): what is refused and accepted at subscription, and
what delivery does with a name that changed its answer (DNS rebinding) or a receiver that redirects.

No network here: names are answered by an injected resolver, or by ``socket.getaddrinfo``
patched (so that the product's own connection sees the same answers), and the receivers are
real HTTP(S) servers on 127.0.0.1 that record every request they get.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.errors import InvalidInput
from app.models import Notification, WebhookSubscription
from app.models.enums import Channel, NotificationStatus
from app.services.accounts.departments import check_webhook_url
from app.services.notices.dispatch import dispatch_pending
from app.services.notices.outbox import enqueue
from config import ConfigError, load_config
from tests.factories import make_department

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"

# Refused whatever the environment (http allowed, nothing on the allow-list).
BAD = [
    "http://127.0.0.1:8080/hook",  # loopback
    "https://127.0.0.1/hook",
    "https://127.255.0.9/hook",
    "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
    "https://[::ffff:a9fe:a9fe]/hook",  # 169.254.169.254, mapped
    "https://[::]/hook",
    "https://0.0.0.0/hook",
    "https://10.1.2.3/hook",  # private
    "https://172.16.5.4/hook",
    "https://192.168.1.10/hook",
    "https://100.100.100.200/hook",  # CGNAT (a cloud's metadata service)
    "https://224.0.0.1/hook",  # multicast
    "https://240.0.0.1/hook",  # reserved
    "https://255.255.255.255/hook",
    "https://198.18.0.1/hook",  # benchmarking
    "https://192.0.2.1/hook",  # documentation
    "https://[fe80::1]/hook",  # link-local
    "https://[fd00:ec2::254]/hook",  # unique-local (AWS's IPv6 metadata)
    "https://[ff02::1]/hook",  # multicast
    "https://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
    "https://[2002:7f00:1::1]/hook",  # 6to4 of 127.0.0.1
    "https://[2001:db8::1]/hook",  # documentation
    "https://2130706433/hook",  # 127.0.0.1 as one decimal number
    "https://0x7f000001/hook",  # ... in hex
    "https://0177.0.0.1/hook",  # ... in octal
    "https://127.1/hook",  # ... abbreviated
    f"https://user:pass@{PUBLIC_V4}/hook",  # credentials
    f"https://user@{PUBLIC_V4}/hook",
    f"https://@{PUBLIC_V4}/hook",
    f"https://{PUBLIC_V4}/hook#part",  # fragment
    f"https://{PUBLIC_V4}:22/hook",  # not a web port
    f"https://{PUBLIC_V4}:0/hook",
    f"https://{PUBLIC_V4}:99999/hook",
    f"ftp://{PUBLIC_V4}/hook",
    "javascript:alert(1)",
    "https:///hook",
    f"https://{PUBLIC_V4}/a b",
    f"https://{PUBLIC_V4}\\@127.0.0.1/hook",
    "https://" + "a" * 500 + ".cn/",
]


@pytest.fixture
def context(app):
    with app.app_context():
        yield app


@pytest.fixture
def strict(context, monkeypatch):
    """The rule as in development: http allowed, nothing on the allow-list (not even 127.0.0.1)."""
    monkeypatch.setitem(context.config, "WEBHOOK_ALLOWED_NETWORKS", ())
    monkeypatch.setitem(context.config, "WEBHOOK_REQUIRE_HTTPS", False)
    return context


@pytest.fixture
def dns(monkeypatch):
    """Answers of the system resolver for made-up names: ``dns["x.test"] = ["93.184.215.14"]``, or a
    list of answers used one after the other (the last one stays). Other names go to the real one
    (IP literals, which the connections look up too)."""
    answers: dict[str, list] = {}
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in answers:
            try:
                ipaddress.ip_address(name)
            except ValueError:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            return real(host, port, family, type, proto, flags)
        asked.append(name)
        queue = answers[name]
        current = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port or 0) if ":" not in a else (a, port or 0, 0, 0)) for a in current]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answers["asked"] = asked  # type: ignore[assignment]
    return answers


@pytest.mark.parametrize("url", BAD)
def test_a_dangerous_address_is_refused(strict, url):
    with pytest.raises(InvalidInput):
        check_webhook_url(url)


@pytest.mark.parametrize("host", ["1572394766", "0x5db8d70e", "0135.0270.0327.016", "93.12113678"])
def test_an_ip_address_is_written_as_four_decimal_numbers_even_a_public_one(strict, host):
    """The integer, hex, octal and short forms of 93.184.215.14 resolve to it, but a person reading
    the subscription (or a log) would not see what it is: refused, with the form to use."""
    with pytest.raises(InvalidInput, match="十进制"):
        check_webhook_url(f"https://{host}/hook")


def test_http_is_refused_where_https_is_required(context, monkeypatch):
    monkeypatch.setitem(context.config, "WEBHOOK_REQUIRE_HTTPS", True)
    with pytest.raises(InvalidInput, match="https://"):
        check_webhook_url(f"http://{PUBLIC_V4}/hook")
    assert check_webhook_url(f"https://{PUBLIC_V4}/hook") == f"https://{PUBLIC_V4}/hook"


def test_production_requires_https_and_cannot_be_told_otherwise(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/casedesk")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://credit.example.gov.cn")
    settings = load_config("production")
    assert settings["WEBHOOK_REQUIRE_HTTPS"] is True
    assert settings["WEBHOOK_ALLOWED_NETWORKS"] == () and settings["WEBHOOK_MAX_PER_DEPARTMENT"] == 20
    monkeypatch.setenv("WEBHOOK_REQUIRE_HTTPS", "0")
    with pytest.raises(ConfigError):
        load_config("production")
    monkeypatch.delenv("WEBHOOK_REQUIRE_HTTPS")
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS", "10.1.2.0/24, intranet")
    with pytest.raises(ConfigError):
        load_config("production")
    monkeypatch.setenv("WEBHOOK_ALLOWED_NETWORKS", "10.1.2.0/24")
    assert load_config("production")["WEBHOOK_ALLOWED_NETWORKS"] == ("10.1.2.0/24",)


@pytest.mark.parametrize("url", [
    f"https://{PUBLIC_V4}/hook",
    f"https://[{PUBLIC_V6}]/hook",
    f"https://{PUBLIC_V4}:8443/hook?system=credit",
    "https://hooks.example.cn/casedesk",
    "https://例子.中国/hook",
    f"http://{PUBLIC_V4}/hook",  # plain http outside production
])
def test_a_public_address_is_accepted(strict, dns, url):
    dns["hooks.example.cn"] = [[PUBLIC_V4, PUBLIC_V6]]
    dns["xn--fsqu00a.xn--fiqs8s"] = [[PUBLIC_V4]]
    assert check_webhook_url(f"  {url} ") == url


@pytest.mark.parametrize("answer", [
    ["10.0.0.5"], [PUBLIC_V4, "127.0.0.1"], ["::1"], ["::ffff:169.254.169.254"], [PUBLIC_V4, "fd00::1"],
])
def test_a_name_with_any_private_address_is_refused(strict, dns, answer):
    dns["hooks.example.cn"] = [answer]
    with pytest.raises(InvalidInput, match="公网地址"):
        check_webhook_url("https://hooks.example.cn/casedesk")


def test_a_name_that_does_not_resolve_is_refused(strict, dns):
    with pytest.raises(InvalidInput, match="DNS"):
        check_webhook_url("https://nowhere.example.cn/hook")


def test_the_allow_list_lets_exactly_its_networks_through(strict, dns, monkeypatch):
    monkeypatch.setitem(strict.config, "WEBHOOK_ALLOWED_NETWORKS", ("127.0.0.1/32", "10.1.2.0/24"))
    dns["receiver.intranet"] = [["10.1.2.7"]]
    assert check_webhook_url("http://127.0.0.1:8088/hook")
    assert check_webhook_url("http://[::ffff:127.0.0.1]:8088/hook")  # the same address
    assert check_webhook_url("https://receiver.intranet/hook")
    for url in ("http://127.0.0.2:8088/hook", "http://[::1]:8088/hook", "https://10.1.3.1/hook",
                "https://2130706433/hook"):
        with pytest.raises(InvalidInput):
            check_webhook_url(url)


def test_an_injected_resolver_is_asked_for_the_ascii_name():
    from app.services.webhook_url import vet

    asked = []

    def resolver(host, port):
        asked.append((host, port))
        return [PUBLIC_V4, f"::ffff:{PUBLIC_V4}"]

    target = vet("https://例子.中国:8443/hook?a=1", require_https=True, resolver=resolver)
    assert asked == [("xn--fsqu00a.xn--fiqs8s", 8443)]
    assert target.addresses == (ipaddress.ip_address(PUBLIC_V4),)
    assert (target.host, target.port, target.path) == ("xn--fsqu00a.xn--fiqs8s", 8443, "/hook?a=1")


# -- delivery ------------------------------------------------------------------------------------

class _Receiver:
    """An HTTP(S) server on ``host`` that records every request (any method) and answers ``status``."""

    def __init__(self, host="127.0.0.1", port=0, status=204, location=None, tls=None):
        self.hits: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                length = int(self.headers.get("Content-Length") or 0)
                receiver.hits.append({"method": self.command, "path": self.path, "host": self.headers["Host"],
                                      "body": self.rfile.read(length)})
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = do_PUT = do_HEAD = _record

            def log_message(self, *args):
                pass

        self.server = HTTPServer((host, port), Handler)
        self.server_names: list[str | None] = []
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[_Receiver] = []

    def start(**kwargs):
        made.append(_Receiver(**kwargs))
        return made[-1]

    yield start
    for r in made:
        r.close()


def _subscribed(db, url: str) -> Notification:
    """A subscription made through the check, as the API and the admin form make them, and a
    notice for it in the outbox."""
    department = make_department()
    subscription = WebhookSubscription(department_id=department.id, name="receiver", url=check_webhook_url(url),
                                       secret="s3cret-for-tests")
    db.session.add(subscription)
    db.session.flush()
    enqueue(f"record_revoked:1:webhook-test:{subscription.id}", "record_revoked", {"record": "沪罚〔2026〕1号"},
            department_id=department.id)
    db.session.commit()
    return db.session.query(Notification).filter_by(channel=Channel.WEBHOOK).one()


def test_a_name_that_turned_to_loopback_after_subscribing_is_not_delivered(db, strict, dns, receivers):
    """DNS rebinding: public when the department subscribed, 127.0.0.1 when the notice goes out."""
    local = receivers()
    dns["rebind.test"] = [[PUBLIC_V4]]
    notice = _subscribed(db, f"http://rebind.test:{local.port}/hook")
    dns["rebind.test"] = [["127.0.0.1"]]
    dispatch_pending()
    db.session.refresh(notice)
    assert local.hits == []
    assert notice.status == NotificationStatus.PENDING and "refused" in notice.last_error


def test_delivery_connects_to_the_address_it_checked_not_to_a_second_answer(db, app, dns, receivers):
    """Checked (at subscription and at delivery) as 127.0.0.1, which the tests allow; any later
    lookup answers 127.0.0.2, which is not allowed: only the checked address may get the POST,
    with the name in its Host header."""
    checked = receivers()
    elsewhere = receivers(host="127.0.0.2", port=checked.port)
    dns["pin.test"] = [["127.0.0.1"]]
    notice = _subscribed(db, f"http://pin.test:{checked.port}/hook?from=casedesk")
    dns["pin.test"] = [["127.0.0.1"], ["127.0.0.2"]]
    dispatch_pending()
    db.session.refresh(notice)
    assert notice.status == NotificationStatus.SENT
    assert elsewhere.hits == []
    [hit] = checked.hits
    assert (hit["method"], hit["path"], hit["host"]) == ("POST", "/hook?from=casedesk", f"pin.test:{checked.port}")
    assert notice.key.encode() in hit["body"]
    assert dns["asked"] == ["pin.test", "pin.test"]  # the subscription's check and the delivery's


def test_an_international_name_and_path_go_on_the_wire_in_ascii(db, app, dns, receivers):
    receiver = receivers()
    dns["xn--fsqu00a.test"] = [["127.0.0.1"]]
    notice = _subscribed(db, f"http://例子.test:{receiver.port}/钩子?名=值")
    dispatch_pending()
    db.session.refresh(notice)
    assert notice.status == NotificationStatus.SENT
    [hit] = receiver.hits
    assert hit["host"] == f"xn--fsqu00a.test:{receiver.port}"
    assert hit["path"] == "/%E9%92%A9%E5%AD%90?%E5%90%8D=%E5%80%BC"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_is_a_failed_delivery(db, app, receivers, status):
    target = receivers()
    redirecting = receivers(status=status, location=f"http://127.0.0.1:{target.port}/elsewhere")
    notice = _subscribed(db, f"http://127.0.0.1:{redirecting.port}/hook")
    dispatch_pending()
    db.session.refresh(notice)
    assert [h["method"] for h in redirecting.hits] == ["POST"]
    assert target.hits == []
    assert notice.status == NotificationStatus.PENDING
    assert str(status) in notice.last_error and "redirect" in notice.last_error


def _certificates(tmp_path, name: str):
    """A CA of our own and a server certificate for ``name`` it signed; returns the CA file and a
    server TLS context."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "casedesk test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(key.public_key())
          .serial_number(1).not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
              .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(2)
              .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(hours=1))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
              .sign(key, hashes.SHA256()))
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return str(ca_file), context


@pytest.mark.parametrize("certified", ["hooks.test", "someone-else.test"])
def test_https_to_the_checked_address_names_the_host_for_sni_and_the_certificate(
        db, app, dns, receivers, monkeypatch, tmp_path, certified):
    ca_file, context = _certificates(tmp_path, certified)
    monkeypatch.setitem(app.config, "WEBHOOK_CA_BUNDLE", ca_file)
    receiver = receivers(tls=context)
    dns["hooks.test"] = [["127.0.0.1"]]
    notice = _subscribed(db, f"https://hooks.test:{receiver.port}/hook")
    dispatch_pending()
    db.session.refresh(notice)
    assert receiver.server_names and set(receiver.server_names) == {"hooks.test"}
    if certified == "hooks.test":
        assert notice.status == NotificationStatus.SENT and receiver.hits[0]["host"] == f"hooks.test:{receiver.port}"
    else:  # the certificate is not the host's: nothing is sent
        assert notice.status == NotificationStatus.PENDING and receiver.hits == []
        assert "unreachable" in notice.last_error
