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
    session,
    url_for,
)

from dashboard import health
from dashboard.history.tiers import EXPORT_MAX_POINTS, Query
from dashboard.web import assets, export
from dashboard.web.page import page_config
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
    if request.endpoint in PUBLIC_ENDPOINTS or auth().allow_request():
        return None
    wants_page = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if request.path.startswith("/api/") or wants_page != "text/html":
        return jsonify(error="authentication required"), 401
    return redirect(url_for("web.login"))


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
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    guard = auth()
    if not guard.enabled:
        return redirect(url_for("web.index"))
    error = None
    if request.method == "POST":
        if guard.too_many_attempts(request.remote_addr or "?"):
            return render_template("login.html", error="Too many attempts; wait a minute."), 429
        if guard.login(request.form.get("token", "")):
            return redirect(url_for("web.index"))
        error = "Wrong token."
    return render_template("login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("web.login"))


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify(health.healthz(runtime()))


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


@bp.get("/metrics")
def metrics() -> Response:
    body, content_type = exposition(runtime(), request.headers.get("Accept"))
    return Response(body, content_type=content_type)


@bp.get("/vendor/plotly.min.js")
def plotly_js() -> Response:
    return send_file(assets.plotly_js(), mimetype="text/javascript", max_age=86_400)


@bp.get("/vendor/socket.io.min.js")
def socketio_js() -> Response:
    return send_file(assets.socketio_client(), mimetype="text/javascript", max_age=86_400)
