"""HTTP: the page, health, the collector list, recent history, and the page's vendor JS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from dashboard import health
from dashboard.history.tiers import EXPORT_MAX_POINTS, Query
from dashboard.web import assets, export
from dashboard.web.auth import Verdict
from dashboard.web.page import page_config
from dashboard.web.processes_api import parse_query
from dashboard.web.prometheus import exposition
from dashboard.web.protocol import RequestError

if TYPE_CHECKING:
    from dashboard.runtime import Runtime
    from dashboard.web.auth import Auth

bp = Blueprint("web", __name__)
PUBLIC_ENDPOINTS = {"web.login", "web.healthz", "static"}


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["dashboard"]
    return rt


def auth() -> Auth:
    guard: Auth = current_app.extensions["dashboard.auth"]
    return guard


@bp.before_app_request
def require_login() -> Any:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    verdict = auth().check_request()
    if verdict is Verdict.ALLOWED:
        return None
    if verdict is Verdict.THROTTLED:
        return _throttled(jsonify(error="too many wrong tokens from this address"))
    wants_page = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if request.path.startswith("/api/") or wants_page != "text/html":
        return jsonify(error="authentication required"), 401
    return redirect(url_for("web.login"))


def _throttled(body: Any) -> tuple[Any, int, dict[str, str]]:
    return body, 429, {"Retry-After": str(max(1, auth().retry_after()))}


@bp.after_app_request
def security_headers(response: Response) -> Response:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


@bp.get("/")
def index() -> str:
    rt = runtime()
    return render_template(
        "index.html",
        host=rt.hub.host,
        collectors=health.collectors(rt),
        hosts=health.hosts(rt),  # so the page picks its view (a host, or the fleet) at once
        page=page_config(),
        auth_enabled=auth().enabled,
        csrf_token=auth().csrf_token() if auth().enabled else "",
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form. A POST is checked in this order: the address's throttle, the
    form's CSRF token, then the token itself."""
    guard = auth()
    if not guard.enabled:
        return redirect(url_for("web.index"))
    if request.method == "GET":
        return _login_page(None, 200)
    throttled = "Too many attempts; wait a minute."
    if guard.retry_after() > 0:
        return _throttled(_login_page(throttled, 429)[0])
    if not guard.csrf_ok(request.form.get("csrf")):
        return _login_page("The form expired; sign in again.", 400)
    verdict = guard.login(request.form.get("token", ""))
    if verdict is Verdict.ALLOWED:
        return redirect(url_for("web.index"))
    if verdict is Verdict.THROTTLED:  # another request from this address got there first
        return _throttled(_login_page(throttled, 429)[0])
    return _login_page("Wrong token.", 401)


def _login_page(error: str | None, status: int) -> tuple[str, int]:
    return render_template("login.html", error=error, csrf_token=auth().csrf_token()), status


@bp.post("/logout")
def logout() -> Any:
    """End the login session (its cookie is refused from now on, its sockets close)."""
    guard = auth()
    if guard.session_id() is not None and not guard.csrf_ok(request.form.get("csrf")):
        return jsonify(error="missing or wrong CSRF token; log out from the page"), 400
    guard.logout()
    return redirect(url_for("web.login"))


@bp.get("/healthz")
def healthz() -> Any:
    """Public, for load balancers and monitors. With auth on, a request without
    credentials gets the status alone: the details name hosts, paths and errors."""
    body = health.healthz(runtime())
    if auth().enabled and not auth().allow_request():
        body = {"status": body["status"]}
    return jsonify(body)


@bp.get("/api/collectors")
def api_collectors() -> Any:
    rt = runtime()
    return jsonify(host=rt.hub.host, collectors=health.collectors(rt))


@bp.get("/api/hosts")
def api_hosts() -> Any:
    """Every host served, with when it last reported and whether it went quiet."""
    return jsonify(health.hosts(runtime()))


@bp.get("/api/history/<name>")
def api_history(name: str) -> Any:
    """Export: ``?host=h&seconds=N&series=a,b&format=json|csv`` (raw within retention, else
    rollups)."""
    rt = runtime()
    topics = {t.host: t for t in rt.hub.topics(name)}
    if not topics:
        return jsonify(error=f"unknown collector {name[:64]!r}"), 404
    try:
        series = {host: {s.name for s in t.series} for host, t in topics.items()}
        request_ = export.parse(request.args, rt.history.window, series, rt.hub.host)
        start = rt.clock() - request_.seconds
        query = Query(
            topics[request_.host].key,
            start,
            series=request_.series,
            max_points=EXPORT_MAX_POINTS,
            prefer_raw=True,
            stats=True,
        )
        answer = rt.query_history(query)
    except RequestError as exc:
        return jsonify(error=str(exc)), 400
    except TimeoutError:
        return jsonify(
            error="history is busy: the query took too long; ask for a shorter span"
        ), 503
    if request_.format == "csv":
        filename = f"{request_.host}-{name}-{request_.seconds:g}s.csv"
        return Response(
            export.csv_text(answer),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    host, seconds = request_.host, request_.seconds
    return jsonify(collector=name, host=host, seconds=seconds, **answer.as_json())


@bp.get("/api/processes")
def api_processes() -> Any:
    """The stored process snapshot nearest ``?at=t`` (default now) of ``host``, through the
    live table's filter (``match``, ``sort``, ``limit``): the ``snapshot`` ack without "ok"."""
    rt = runtime()
    hosts = [t.host for t in rt.hub.topics("processes")]
    try:
        req = parse_query(request.args, hosts, rt.hub.host, rt.clock())
        found = rt.process_snapshot(req.host, req.ts, req.filter)
    except RequestError as exc:
        return jsonify(error=str(exc)), 400
    except TimeoutError:
        return jsonify(error="snapshots are busy: the lookup took too long; try again"), 503
    return jsonify(host=req.host, snapshot=found)


@bp.get("/metrics")
def metrics() -> Response:
    limits = current_app.extensions["dashboard.limits"]
    body, content_type = exposition(runtime(), request.headers.get("Accept"), limits)
    return Response(body, content_type=content_type)


@bp.get("/vendor/plotly.min.js")
def plotly_js() -> Response:
    return send_file(assets.plotly_js(), mimetype="text/javascript", max_age=86_400)


@bp.get("/vendor/socket.io.min.js")
def socketio_js() -> Response:
    return send_file(assets.socketio_client(), mimetype="text/javascript", max_age=86_400)
