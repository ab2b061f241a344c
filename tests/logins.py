"""A browser's side of signing in, for tests: the form's CSRF token and cookie, the POST,
the logout. Plain http.client, so a test may send from another loopback address
(``source="127.0.0.2"``) or over TLS (``context``), and sees every status and header as sent
(redirects are not followed)."""

from __future__ import annotations

import http.client
import re
import ssl
import urllib.parse
from dataclasses import dataclass, field

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: str


@dataclass
class Browser:
    """Cookies kept between requests, as a browser keeps them (attributes aside)."""

    url: str  # http://127.0.0.1:PORT or https://...
    context: ssl.SSLContext | None = None
    source: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookie: list[str] = field(default_factory=list)  # every Set-Cookie header seen

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, **headers: str
    ) -> Reply:
        parts = urllib.parse.urlsplit(self.url)
        source = (self.source, 0) if self.source else None
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=10, context=self.context,
                source_address=source,
            )  # fmt: skip
        else:
            conn = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=10, source_address=source
            )
        body = urllib.parse.urlencode(form).encode() if form is not None else None
        if form is not None:
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if self.cookies:
            headers.setdefault("Cookie", self.cookie_header())
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            reply = Reply(resp.status, resp.headers, resp.read().decode(errors="replace"))
        finally:
            conn.close()
        for line in reply.headers.get_all("Set-Cookie") or []:
            self.set_cookie.append(line)
            name, _, value = line.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return reply

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def csrf(self, path: str = "/login") -> str:
        """The CSRF token of the form on ``path`` (GET, so the session cookie is set)."""
        reply = self.request("GET", path, Accept="text/html")
        match = CSRF_RE.search(reply.body)
        assert match, f"no CSRF token on {path} ({reply.status}): {reply.body[:200]}"
        return match.group(1)

    def login(self, token: str, csrf: str | None = None) -> Reply:
        """POST the login form, as the page does (fetching its CSRF token first)."""
        csrf = self.csrf() if csrf is None else csrf
        return self.request("POST", "/login", {"token": token, "csrf": csrf}, Accept="text/html")

    def logout(self) -> Reply:
        """POST the page's log-out form, with the CSRF token the page carries."""
        return self.request("POST", "/logout", {"csrf": self.csrf("/")}, Accept="text/html")
