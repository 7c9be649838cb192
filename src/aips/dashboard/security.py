"""Who may reach the dashboard: loopback binds are open, any other bind needs a secret.

``check_bind`` refuses a non-loopback address (``0.0.0.0``, a LAN address, a host name)
unless a password or a token is configured; ``install_auth`` then checks every request in a
Flask ``before_request`` hook: HTTP basic auth with the password (any user name), or the
token as ``?token=...`` (remembered in an HttpOnly cookie, so the page's own requests pass),
an ``X-AIPS-Token`` header or that cookie. Secrets are compared in constant time.

>>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost"), is_loopback("0.0.0.0")
(True, True, True, False)
>>> check_bind("0.0.0.0")
Traceback (most recent call last):
...
aips.exceptions.AipsError: refusing to serve the dashboard on 0.0.0.0 without authentication: ...
>>> check_bind("0.0.0.0", password="s3cret")
"""

from __future__ import annotations

import hmac
import ipaddress

from aips.exceptions import AipsError

COOKIE = "aips_token"
HEADER = "X-AIPS-Token"


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``."""
    h = host.strip().strip("[]").lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def check_bind(host: str, password: str | None = None, token: str | None = None) -> None:
    """Raise :class:`~aips.exceptions.AipsError` for a non-loopback ``host`` without a secret."""
    if is_loopback(host) or password or token:
        return
    raise AipsError(
        f"refusing to serve the dashboard on {host} without authentication: anyone who can reach "
        "this address could read the data. Pass --password (or set $AIPS_DASHBOARD_PASSWORD) or "
        "--token, or bind to 127.0.0.1"
    )


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def install_auth(server, password: str | None = None, token: str | None = None) -> None:
    """Require the password (basic auth) or the token on every request of a Flask app."""
    if not (password or token):
        return
    from flask import Response, g, request

    @server.before_request
    def _require_secret():
        if token:
            if _same(request.args.get("token"), token):
                g.aips_set_cookie = True
                return None
            if _same(request.headers.get(HEADER), token) or _same(request.cookies.get(COOKIE), token):
                return None
        if password:
            auth = request.authorization
            if auth is not None and _same(auth.password, password):
                return None
            return Response("aips dashboard: authentication required\n", 401,
                            {"WWW-Authenticate": 'Basic realm="aips dashboard", charset="UTF-8"'})
        return Response("aips dashboard: a valid token is required (?token=...)\n", 401)

    @server.after_request
    def _remember_token(response):
        if token and g.get("aips_set_cookie"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
        return response
