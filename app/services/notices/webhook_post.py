"""One POST to a vetted webhook address: to the address that was checked, never redirected.

``urllib.request`` resolves the name again when it connects (a second answer, maybe 127.0.0.1:
DNS rebinding), follows redirects (a 302 to an intranet address) and obeys proxy variables of
the environment. Here a urllib3 connection pool is opened on the vetted IP address itself, with
the URL's host name as the Host header, the TLS server name (SNI) and the name the certificate
must match; redirects are not followed (a 3xx is an answer like any other non-2xx), and no
proxy is used.
"""
from __future__ import annotations

import ssl

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError

from app.services.webhook_url import Target


class PostFailed(Exception):
    """The receiver could not be reached, or did not speak HTTP(S) properly."""


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float,
         ca_bundle: str | None = None) -> int:
    """POST ``body`` to ``target``; returns the status code of the answer.

    Tries the vetted addresses in turn while a connection cannot be made (as a resolver's
    client would); any answer, whatever its status, ends the attempt."""
    error: Exception | None = None
    for address in target.addresses:
        try:
            return _post_to(str(address), target, body, headers, timeout, ca_bundle)
        except NewConnectionError as failed:  # not listening there, or unreachable: the next one
            error = failed
        except (HTTPError, OSError, ValueError) as failed:  # UnicodeError is a ValueError
            raise PostFailed(str(failed)) from None
    raise PostFailed(str(error))


def _post_to(address: str, target: Target, body: bytes, headers: dict[str, str], timeout: float,
             ca_bundle: str | None) -> int:
    settings = dict(host=address, port=target.port, timeout=urllib3.Timeout(connect=timeout, read=timeout),
                    retries=False, maxsize=1)
    if target.scheme == "https":
        context = ssl.create_default_context(cafile=ca_bundle)  # the system's CAs, or the bundle named
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            **settings, ssl_context=context, cert_reqs="CERT_REQUIRED", server_hostname=target.host)
    else:
        pool = urllib3.HTTPConnectionPool(**settings)
    with pool:
        response = pool.urlopen("POST", target.path, body=body, headers={**headers, "Host": target.netloc},
                                redirect=False, retries=False, assert_same_host=False, preload_content=False)
        try:
            return response.status
        finally:
            response.release_conn()
