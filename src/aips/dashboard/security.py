"""Who may reach the dashboard: loopback binds are open, any other bind needs a secret.

``check_bind`` refuses a non-loopback address (``0.0.0.0``, a LAN address, a host name)
unless a password or a token is configured; ``install_auth`` then checks every request in a
Flask ``before_request`` hook: HTTP basic auth with the password (any user name), or the
token as an ``Authorization: Bearer <token>`` or ``X-AIPS-Token`` header, through the login
form (``POST /_aips/login``, shown on a 401 in a browser), or as ``?token=...`` on a first
visit. A token given by the form or the URL is remembered in a session cookie (HttpOnly,
SameSite=Strict), so the page's own requests never carry it in a URL. Secrets are compared in
constant time.

**Logs never hold a secret.** :func:`redact` masks ``token=`` query values; the server's
access log (:mod:`aips.dashboard.server`) passes every line through it, so ``GET /?token=T``
is logged as ``GET /?token=*** ``.

>>> redact('"GET /_dash-layout?a=1&token=s3cret&b=2 HTTP/1.1" 200 -')
'"GET /_dash-layout?a=1&token=***&b=2 HTTP/1.1" 200 -'

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
import html
import ipaddress
import re

from aips.exceptions import AipsError

COOKIE = "aips_token"
HEADER = "X-AIPS-Token"
LOGIN = "/_aips/login"
_SECRET_IN_QUERY = re.compile(r"((?:^|[?&;])(?:token|password)=)[^&;\s\"#]*", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with the values of ``token=`` / ``password=`` query parameters masked."""
    return _SECRET_IN_QUERY.sub(r"\1***", text)


def _bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def _login_page(failed: bool) -> str:
    note = ("<p style='color:#b00'>令牌不正确 / wrong token</p>" if failed else "")
    return ("<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>aips 看板登录</title></head>"
            "<body style='font-family:sans-serif;max-width:28em;margin:4em auto'>"
            "<h1>aips 看板 / dashboard</h1><p>需要访问令牌 / a token is required.</p>" + note
            + f"<form method='post' action='{html.escape(LOGIN)}'>"
            "<input type='password' name='token' autocomplete='current-password' autofocus "
            "aria-label='令牌 / token'> <button type='submit'>登录 / log in</button></form></body></html>")


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
    from flask import Response, g, redirect, request

    def _cookie(response):
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
        return response

    if token:
        @server.route(LOGIN, methods=["GET", "POST"])
        def _aips_login():
            if request.method == "POST" and _same(request.form.get("token"), token):
                return _cookie(redirect("/", code=303))
            return Response(_login_page(request.method == "POST"), 401 if request.method == "POST" else 200,
                            {"Content-Type": "text/html; charset=utf-8"})

    @server.before_request
    def _require_secret():
        if token:
            if request.path == LOGIN:
                return None
            if _same(request.args.get("token"), token):
                g.aips_set_cookie = True
                return None
            if (_same(request.headers.get(HEADER), token) or _same(_bearer(request.headers.get("Authorization")), token)
                    or _same(request.cookies.get(COOKIE), token)):
                return None
        if password:
            auth = request.authorization
            if auth is not None and auth.type == "basic" and _same(auth.password, password):
                return None
            return Response("aips dashboard: authentication required\n", 401,
                            {"WWW-Authenticate": 'Basic realm="aips dashboard", charset="UTF-8"'})
        if "text/html" in request.headers.get("Accept", ""):
            return Response(_login_page(False), 401, {"Content-Type": "text/html; charset=utf-8"})
        return Response("aips dashboard: a valid token is required (header Authorization: Bearer <token>, "
                        f"the form at {LOGIN}, or ?token=...)\n", 401)

    @server.after_request
    def _remember_token(response):
        if token and g.get("aips_set_cookie"):
            _cookie(response)
        return response
