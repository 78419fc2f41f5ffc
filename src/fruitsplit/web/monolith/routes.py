"""The monolith's request handlers: thin translations between HTTP and the services."""

from __future__ import annotations

from typing import Any

import jinja2
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)

from fruitsplit.core.errors import FruitsError, FruitsServiceUnavailable
from fruitsplit.core.fruits import FRUITS, may_choose
from fruitsplit.services.login_sessions import ActiveSession
from fruitsplit.web.errors import headers_for, status_for
from fruitsplit.web.monolith.csrf import is_cross_site, is_from_browser, is_same_secret
from fruitsplit.wiring import Monolith

SESSION_COOKIE = "session"
_NO_STORE = {"Cache-Control": "no-store"}


def monolith_of(request: Request) -> Monolith:
    monolith: Monolith = request.app.state.monolith
    return monolith


async def current_session(request: Request) -> ActiveSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await monolith_of(request).sessions.resolve(token)


async def read_form(request: Request) -> FormData:
    try:
        return await request.form(max_files=0, max_fields=32)
    except (HTTPException, ValueError, KeyError) as exc:
        raise HTTPException(400, "malformed form body") from exc


def form_value(form: FormData, request: Request, name: str) -> str:
    """A field from the body, else from the query string, as the original's FormValue reads."""
    value = form.get(name)
    if value is None:
        value = request.query_params.get(name)
    return value if isinstance(value, str) else ""


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def render_page(
    request: Request,
    session: ActiveSession | None,
    *,
    status_code: int = 200,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    monolith = monolith_of(request)
    template: jinja2.Template = request.app.state.templates.get_template("index.html")
    is_super = session is not None and session.user.is_super
    try:
        rows = await monolith.fruits.list_fruits()
        list_error = None
    except FruitsServiceUnavailable as error:
        # The rest of the page still works; the list says what is wrong and offers a retry.
        rows, list_error = [], str(error)
        status_code = max(status_code, 503)
    context: dict[str, Any] = {
        "session": session,
        "rows": rows,
        "list_error": list_error,
        "choices": [(fruit, may_choose(fruit, is_super=is_super)) for fruit in FRUITS],
        "message": message,
        "phase": await monolith.phases.current(),
        "fruits_endpoint_external": monolith.settings.fruits_endpoint_external or "",
    }
    return HTMLResponse(
        template.render(context),
        status_code=status_code,
        headers={**_NO_STORE, **(headers or {})},
    )


async def problem(
    request: Request,
    status_code: int,
    message: str,
    *,
    session: ActiveSession | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error as the page with a message for a browser, as one plain line for a client."""
    if wants_html(request):
        return await render_page(
            request, session, status_code=status_code, message=message, headers=headers
        )
    return PlainTextResponse(message + "\n", status_code=status_code, headers=headers)


async def domain_problem(
    request: Request, error: FruitsError, session: ActiveSession | None = None
) -> Response:
    return await problem(
        request, status_for(error), str(error), session=session, headers=headers_for(error)
    )


def redirect_home() -> RedirectResponse:
    return RedirectResponse("/", status_code=302)


async def index(request: Request) -> Response:
    monolith_of(request).metrics.index_accesses.inc()
    return await render_page(request, await current_session(request))


async def login(request: Request) -> Response:
    monolith = monolith_of(request)
    monolith.metrics.login_user_accesses.inc()
    if is_cross_site(request):
        return await problem(request, 403, "cross-site request refused")
    session = await current_session(request)
    if session is not None:
        return await problem(request, 400, "already logged in", session=session)
    form = await read_form(request)
    username = form_value(form, request, "username")
    password = form_value(form, request, "password")
    if not username or not password:
        return await problem(request, 400, "username and password are required")
    address = request.client.host if request.client else "unknown"
    try:
        user = await monolith.accounts.log_in(username, password, address=address)
    except FruitsError as error:
        monolith.metrics.login_failures.labels(type(error).__name__).inc()
        return await domain_problem(request, error)
    response = redirect_home()
    settings = monolith.settings
    response.set_cookie(
        SESSION_COOKIE,
        await monolith.sessions.start(user),
        max_age=int(settings.session_absolute_timeout_s),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    return response


async def _end_session(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await monolith_of(request).sessions.end(token)
    response = redirect_home()
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    return response


async def logout_link(request: Request) -> Response:
    monolith_of(request).metrics.logout_user_accesses.inc()
    return await _end_session(request)


async def logout(request: Request) -> Response:
    monolith_of(request).metrics.logout_user_accesses.inc()
    if is_cross_site(request):
        return await problem(request, 403, "cross-site request refused")
    session = await current_session(request)
    if session is not None:
        form = await read_form(request)
        if not is_same_secret(form_value(form, request, "csrf_token"), session.csrf_token):
            return await problem(request, 403, "missing or wrong CSRF token", session=session)
    return await _end_session(request)


async def set_fruit(request: Request) -> Response:
    monolith = monolith_of(request)
    monolith.metrics.set_fruit_accesses.inc()
    if is_cross_site(request):
        return await problem(request, 403, "cross-site request refused")
    session = await current_session(request)
    if session is None:
        return await problem(request, 401, "not logged in")
    form = await read_form(request)
    # A browser must prove the form came from our page; a plain client has no
    # ambient cookie another site could have used, so it needs no token.
    if is_from_browser(request) and not is_same_secret(
        form_value(form, request, "csrf_token"), session.csrf_token
    ):
        return await problem(request, 403, "missing or wrong CSRF token", session=session)
    try:
        await monolith.fruits.choose_fruit(session.user, form_value(form, request, "fruit"))
    except FruitsError as error:
        return await domain_problem(request, error, session)
    return redirect_home()


async def token(request: Request) -> Response:
    monolith = monolith_of(request)
    monolith.metrics.get_token_accesses.inc()
    session = await current_session(request)
    if session is None:
        return PlainTextResponse("not logged in\n", status_code=401)
    return PlainTextResponse(monolith.tokens.issue(session.user), headers=_NO_STORE)


async def jwks(request: Request) -> Response:
    return JSONResponse(
        monolith_of(request).tokens.jwks(), headers={"Cache-Control": "public, max-age=300"}
    )


async def metrics(request: Request) -> Response:
    monolith = monolith_of(request)
    expected = monolith.settings.metrics_token
    if expected is not None and not is_same_secret(
        request.headers.get("authorization", "").removeprefix("Bearer "),
        expected.get_secret_value(),
    ):
        return PlainTextResponse(
            "metrics need a bearer token\n",
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Response(monolith.metrics.render(), media_type=CONTENT_TYPE_LATEST)


async def health(request: Request) -> Response:
    return PlainTextResponse("ok\n")
