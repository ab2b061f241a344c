"""Walk an exposed dashboard as an outsider would, then with the token; print what each
request and each Socket.IO connect got, as JSON. tests/test_exposure.py runs this inside the
network namespace that holds the server (``python -m tests.exposure_walk URL CA TOKEN``).
"""

from __future__ import annotations

import json
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import socketio

from tests.tlsserver import Certificates, close, wss_client
from tests.waits import wait_until

PATHS = ["/", "/api/collectors", "/api/hosts", "/api/history/cpu?seconds=60", "/metrics",
         "/healthz", "/vendor/plotly.min.js", "/vendor/socket.io.min.js", "/api/nonexistent",
         "/login", "/static/css/dashboard.css", "/api/alerts", "/api/silences",
         "/api/processes?at=0&limit=5"]  # fmt: skip
# The routes that change something, as (method, rule): each is tried without the token, then
# with it (a silence made, then ended twice: 201, 200, 404).
CHANGES = [("POST", "/api/silences"), ("DELETE", "/api/silences/<silence_id>")]
# The Socket.IO requests that read history, as (namespace, event, payload for "now"): asked
# on a socket let in with the token (one without it never gets that far: see "sockets").
REQUESTS = [("/cpu", "range", lambda now: {"start": now - 60, "end": now}),
            ("/processes", "snapshot", lambda now: {"ts": now})]  # fmt: skip


def fetch(url: str, context: ssl.SSLContext, **headers: str) -> dict[str, Any]:
    """Status, where a redirect points, and the JSON body's keys (if it is JSON)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))
    request = urllib.request.Request(url, headers={"Accept": "text/html", **headers})
    try:
        with opener.open(request, timeout=10) as resp:
            status, body, location = resp.status, resp.read(), resp.headers.get("Location")
    except urllib.error.HTTPError as exc:
        status, body, location = exc.code, exc.read(), exc.headers.get("Location")
    try:
        keys = sorted(json.loads(body))
    except ValueError:
        keys = None
    return {"status": status, "location": location, "json_keys": keys, "size": len(body)}


def send(
    url: str, context: ssl.SSLContext, method: str, body: Any = None, **headers: str
) -> dict[str, Any]:
    """A JSON request that changes something: its status and its JSON body."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **headers}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    return {"status": status, "json": answer}


def changes(url: str, context: ssl.SSLContext, token: str) -> dict[str, Any]:
    """Make a silence and end it: without the token (refused, nothing made), then with it."""
    bearer = {"Authorization": f"Bearer {token}"}
    body = {"matchers": {"rule": "exposure-walk"}, "ends": time.time() + 600,
            "comment": "the exposure walk"}  # fmt: skip
    anonymous_post = send(url + "/api/silences", context, "POST", body)
    made = send(url + "/api/silences", context, "POST", body, **bearer)
    target = url + f"/api/silences/{(made['json'] or {}).get('id', 'none')}"
    anonymous_delete = send(target, context, "DELETE")
    listed = send(url + "/api/silences", context, "GET", **bearer)
    ended = send(target, context, "DELETE", **bearer)
    again = send(target, context, "DELETE", **bearer)
    return {
        "anonymous": {"POST": anonymous_post, "DELETE": anonymous_delete},
        "bearer": {"POST": made, "DELETE": ended, "DELETE again": again},
        "kept": [s["comment"] for s in (listed["json"] or {}).get("silences", [])],
    }


def connects(url: str, certs: Certificates, namespace: str, **options: Any) -> bool:
    """Whether the server lets this client into ``namespace`` (a refusal is False)."""
    try:
        client = wss_client(url, certs, [namespace], **options)
    except socketio.exceptions.ConnectionError:
        return False
    ok = client.connected
    close(client)
    return ok


def requests_with_token(url: str, certs: Certificates, token: str) -> dict[str, Any]:
    """Each of ``REQUESTS``: whether it was answered ok, and the ack's keys."""
    namespaces = sorted({namespace for namespace, _event, _payload in REQUESTS})
    client = wss_client(url, certs, namespaces, auth={"token": token})
    try:
        answers = {
            f"{namespace} {event}": client.call(
                event, payload(time.time()), namespace=namespace, timeout=10
            )
            for namespace, event, payload in REQUESTS
        }
    finally:
        close(client)
    return {name: {"ok": ack.get("ok"), "keys": sorted(ack)} for name, ack in answers.items()}


def walk(url: str, certs: Certificates, token: str) -> dict[str, Any]:
    context = certs.context()
    wait_until(lambda: fetch(url + "/healthz", context)["status"] == 200, "/healthz", 30, 0.1)
    bearer = {"Authorization": f"Bearer {token}"}
    with urllib.request.urlopen(
        urllib.request.Request(url + "/api/collectors", headers=bearer), context=context
    ) as resp:
        namespaces = [c["namespace"] for c in json.load(resp)["collectors"]]
    namespaces += ["/fleet", "/alerts"]
    return {
        "namespaces": namespaces,
        "http": {
            "anonymous": {path: fetch(url + path, context) for path in PATHS},
            "bearer": {path: fetch(url + path, context, **bearer) for path in PATHS},
            "wrong host": fetch(url + "/healthz", context, Host="evil.example"),
            "changes": changes(url, context, token),
        },
        "sockets": {
            "anonymous": {ns: connects(url, certs, ns) for ns in namespaces},
            "token": {ns: connects(url, certs, ns, auth={"token": token}) for ns in namespaces},
            "wrong token": {
                ns: connects(url, certs, ns, auth={"token": "no"}) for ns in namespaces[:2]
            },
            "requests": requests_with_token(url, certs, token),
        },
    }


if __name__ == "__main__":
    url, ca, token = sys.argv[1:4]
    authority = Path(ca)
    certs = Certificates(authority, authority, authority)  # only the CA is used by clients
    print(json.dumps(walk(url, certs, token)))
