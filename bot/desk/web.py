"""The desk over HTTP: sign-in pages, the desk and supervisor pages, a JSON API, SSE.

Pages (HTML, server-filled templates from `bot/gateway/static/desk/`):
`GET/POST /desk/login`, `POST /desk/logout`, `GET /desk` (agents and
supervisors), `GET /desk/supervisor` (supervisors).

API (JSON; a session cookie, and `X-CSRF-Token` on every POST):

- `GET  /desk/api/me`: who is signed in, and the CSRF token.
- `GET  /desk/api/queue`: `{"waiting", "mine", "others"}` lists.
- `GET  /desk/api/conversations/{id}`: transcript, account panel, pending offers.
- `POST /desk/api/conversations/{id}/take` | `/reply` `{"text"}` | `/handback` | `/close`
- `POST /desk/api/offers/{id}/approve` | `/refuse` `{"note"?}`
- `GET  /desk/api/events`: Server-Sent Events `queue` / `conversation`.
- `GET  /desk/api/stats?days=N`: supervisor figures.

Anonymous API calls get 401, a role without the right 403, a POST without
the session's CSRF token (or from another origin) 403.
"""

from __future__ import annotations

import asyncio
import functools
import html
import json
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.desk import auth
from bot.desk.auth import DeskUser, LoginLimited
from bot.desk.events import DeskEvents
from bot.desk.metrics import supervisor_stats
from bot.desk.service import DeskError, DeskService, transcript_item
from bot.gateway.keys import SESSIONS, SETTINGS
from bot.settings import Settings

log = structlog.get_logger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "gateway" / "static" / "desk"
SESSION_COOKIE = "desk_session"
LOGIN_CSRF_COOKIE = "desk_login_csrf"
COOKIE_PATH = "/desk"
MAX_JSON_BYTES = 16 * 1024
PING_SECONDS = 15.0

DESK = web.AppKey("desk", DeskService)
DESK_EVENTS = web.AppKey("desk_events", DeskEvents)
_USER = web.RequestKey("desk_user", DeskUser)
_CHECKED = web.RequestKey("desk_user_checked", bool)

_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
_LOGIN_ERRORS = {
    "invalid": "Wrong username or password. / 用户名或密码错误。",
    "limited": "Too many failed attempts. Try again in 15 minutes. / 失败次数过多,请15分钟后再试。",
    "expired": "The sign-in form expired. Please try again. / 登录页面已过期,请重试。",
    "unavailable": "Sign-in is unavailable right now. / 暂时无法登录,请稍后再试。",
}


def cookie_secure(settings: Settings) -> bool:
    """Secure cookies unless explicitly off, or the public address is plain http."""
    if settings.desk_cookie_secure is not None:
        return settings.desk_cookie_secure
    base = settings.public_base_url
    return base is not None and base.scheme == "https"


@functools.lru_cache(maxsize=8)
def _template(name: str) -> str:
    """A page template, read from disk once per process."""
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _render(name: str, settings: Settings, **values: str) -> str:
    page = _template(name)
    fields = {
        "BANK_NAME_EN": settings.bank_name_en,
        "BANK_NAME_ZH": settings.bank_name_zh,
        **{key.upper(): value for key, value in values.items()},
    }
    for key, value in fields.items():
        page = page.replace("{{" + key + "}}", html.escape(value))
    return page


def _page(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, content_type="text/html", status=status, headers=_PAGE_HEADERS)


def _json_error(message: str, status: int) -> web.Response:
    return web.json_response(
        {"error": message}, status=status, headers={"Cache-Control": "no-store"}
    )


def _client_ip(request: web.Request) -> str:
    return request.remote or "unknown"


async def current_user(request: web.Request) -> DeskUser | None:
    """The signed-in desk user of this request, if any (cached on the request)."""
    if request.get(_CHECKED):
        return request.get(_USER)
    token = request.cookies.get(SESSION_COOKIE)
    user = None
    if token:
        async with request.app[SESSIONS]() as session:
            user = await auth.authenticate(session, token)
    request[_CHECKED] = True
    if user is not None:
        request[_USER] = user
    return user


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


async def _api_user(
    request: web.Request, *, supervisor: bool = False, state_changing: bool = False
) -> DeskUser:
    user = await current_user(request)
    if user is None:
        raise web.HTTPUnauthorized(
            text=json.dumps({"error": "Sign in first. / 请先登录。"}),
            content_type="application/json",
        )
    if state_changing and (
        not auth.tokens_match(user.csrf_token, request.headers.get("X-CSRF-Token"))
        or not _same_origin(request)
    ):
        log.warning("desk.csrf_rejected", agent_id=user.agent_id, path=request.path)
        raise web.HTTPForbidden(
            text=json.dumps({"error": "Missing or wrong CSRF token. / 安全校验失败,请刷新页面。"}),
            content_type="application/json",
        )
    if supervisor and not user.is_supervisor:
        raise web.HTTPForbidden(
            text=json.dumps({"error": "Supervisors only. / 仅限主管。"}),
            content_type="application/json",
        )
    return user


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise DeskError("The request is too large. / 请求过大。")
    raw = await request.content.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise DeskError("The request is too large. / 请求过大。")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise DeskError("The body is not valid JSON. / 请求格式错误。") from None
    if not isinstance(body, dict):
        raise DeskError("The body must be a JSON object. / 请求格式错误。")
    return body


# --- pages -----------------------------------------------------------------------


def _login_page(
    request: web.Request, *, error: str = "", username: str = "", status: int = 200
) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = _page(
        _render(
            "login.html",
            request.app[SETTINGS],
            csrf_token=token,
            error=_LOGIN_ERRORS.get(error, ""),
            username=username,
        ),
        status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=cookie_secure(request.app[SETTINGS]),
        max_age=3600,
    )
    return response


async def get_login(request: web.Request) -> web.StreamResponse:
    """`GET /desk/login`: the sign-in form (a signed-in user goes to the desk)."""
    if await current_user(request) is not None:
        raise web.HTTPSeeOther("/desk")
    return _login_page(request)


async def post_login(request: web.Request) -> web.StreamResponse:
    """`POST /desk/login`: check the form's CSRF token and the password; start a session."""
    form = await request.post()
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not auth.tokens_match(expected, str(form.get("csrf_token", ""))):
        return _login_page(request, error="expired", username=username, status=403)
    sessions = request.app[SESSIONS]
    try:
        async with sessions() as session:
            # A session presented with the sign-in is ended, never promoted.
            old = await auth.authenticate(session, request.cookies.get(SESSION_COOKIE))
            if old is not None:
                await auth.sign_out(session, old)
            try:
                signed_in = await auth.sign_in(session, username, password, ip=_client_ip(request))
            except LoginLimited:
                await session.commit()
                return _login_page(request, error="limited", username=username, status=429)
            await session.commit()
    except SQLAlchemyError:
        log.exception("desk.login_database_error")
        return _login_page(request, error="unavailable", username=username, status=503)
    if signed_in is None:
        return _login_page(request, error="invalid", username=username, status=401)
    response = web.HTTPSeeOther("/desk")
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.token,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=cookie_secure(request.app[SETTINGS]),
        max_age=int(auth.SESSION_MAX.total_seconds()),
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH)
    raise response


async def post_logout(request: web.Request) -> web.StreamResponse:
    """`POST /desk/logout`: end the session (CSRF token in header or form)."""
    user = await current_user(request)
    if user is not None:
        presented = request.headers.get("X-CSRF-Token")
        if presented is None:
            presented = str((await request.post()).get("csrf_token", ""))
        if not auth.tokens_match(user.csrf_token, presented) or not _same_origin(request):
            return _json_error("Missing or wrong CSRF token. / 安全校验失败。", 403)
        async with request.app[SESSIONS]() as session:
            await auth.sign_out(session, user)
            await session.commit()
    response = web.HTTPSeeOther("/desk/login")
    response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    raise response


async def _signed_in_page(request: web.Request, name: str, *, supervisor: bool) -> web.Response:
    user = await current_user(request)
    if user is None:
        raise web.HTTPSeeOther("/desk/login")
    if supervisor and not user.is_supervisor:
        return _page("<!doctype html><title>403</title><p>Supervisors only. / 仅限主管。</p>", 403)
    return _page(
        _render(
            name,
            request.app[SETTINGS],
            csrf_token=user.csrf_token,
            display_name=user.display_name,
            role=user.role.value,
        )
    )


async def get_desk(request: web.Request) -> web.Response:
    """`GET /desk`: the agent desk."""
    return await _signed_in_page(request, "desk.html", supervisor=False)


async def get_supervisor(request: web.Request) -> web.Response:
    """`GET /desk/supervisor`: queue and outcome figures, with charts."""
    return await _signed_in_page(request, "supervisor.html", supervisor=True)


# --- API -------------------------------------------------------------------------


async def _answer(request: web.Request, work: Any) -> web.Response:
    try:
        result = await work
    except DeskError as error:
        return _json_error(error.message, error.status)
    except SQLAlchemyError:
        log.exception("desk.database_error", path=request.path)
        return _json_error("The database is unavailable. / 数据库暂时不可用。", 503)
    return web.json_response(result, headers={"Cache-Control": "no-store"})


async def get_me(request: web.Request) -> web.Response:
    user = await _api_user(request)
    return web.json_response(
        {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.value,
            "csrf_token": user.csrf_token,
        },
        headers={"Cache-Control": "no-store"},
    )


async def get_queue(request: web.Request) -> web.Response:
    user = await _api_user(request)
    return await _answer(request, request.app[DESK].queue(user))


async def get_conversation(request: web.Request) -> web.Response:
    user = await _api_user(request)
    cid = request.match_info["conversation_id"]
    return await _answer(request, request.app[DESK].conversation(user, cid))


ConversationStep = Callable[[DeskService, DeskUser, str], Awaitable[dict[str, Any]]]


def _conversation_step(step: ConversationStep) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A POST that changes who has a conversation and answers with its summary."""

    async def handler(request: web.Request) -> web.Response:
        user = await _api_user(request, state_changing=True)
        cid = request.match_info["conversation_id"]

        async def work() -> dict[str, Any]:
            return {"conversation": await step(request.app[DESK], user, cid)}

        return await _answer(request, work())

    return handler


post_take = _conversation_step(lambda desk, user, cid: desk.take(user, cid))
post_handback = _conversation_step(lambda desk, user, cid: desk.hand_back(user, cid))
post_close = _conversation_step(lambda desk, user, cid: desk.close(user, cid))


async def post_reply(request: web.Request) -> web.Response:
    user = await _api_user(request, state_changing=True)
    cid = request.match_info["conversation_id"]

    async def work() -> dict[str, Any]:
        body = await _json_body(request)
        text = body.get("text")
        if not isinstance(text, str):
            raise DeskError('Send {"text": "..."}. / 请提供回复内容。')
        sent = await request.app[DESK].reply(user, cid, text)
        return {"message": transcript_item(sent.message), "delivery": sent.delivery}

    return await _answer(request, work())


def _offer_id(request: web.Request) -> int:
    raw = request.match_info["offer_id"]
    if not raw.isdecimal() or len(raw) > 12:
        raise DeskError("The offer id must be a number. / 方案编号无效。")
    return int(raw)


async def _decide(request: web.Request, *, approve: bool) -> web.Response:
    user = await _api_user(request, state_changing=True)

    async def work() -> dict[str, Any]:
        offer_id = _offer_id(request)
        body = await _json_body(request)
        note = body.get("note")
        if note is not None and not isinstance(note, str):
            raise DeskError("The note must be text. / 备注必须是文字。")
        offer = await request.app[DESK].decide(user, offer_id, approve=approve, note=note)
        return {"offer": offer}

    return await _answer(request, work())


async def post_approve(request: web.Request) -> web.Response:
    return await _decide(request, approve=True)


async def post_refuse(request: web.Request) -> web.Response:
    return await _decide(request, approve=False)


async def get_stats(request: web.Request) -> web.Response:
    await _api_user(request, supervisor=True)
    raw = request.query.get("days", "7")
    if not raw.isdecimal() or not 1 <= int(raw) <= 90:
        return _json_error("days must be a whole number from 1 to 90. / 天数须为1到90。", 400)

    async def work() -> dict[str, Any]:
        async with request.app[SESSIONS]() as session:
            stats = await supervisor_stats(session, days=int(raw))
        return stats.as_json()

    return await _answer(request, work())


async def get_events(request: web.Request) -> web.StreamResponse:
    """`GET /desk/api/events`: signals for the page, a ping every 15 s, until signed out."""
    user = await _api_user(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx: pass events through at once
        }
    )
    token = request.cookies.get(SESSION_COOKIE)
    async with request.app[DESK_EVENTS].subscribe() as queue:
        await response.prepare(request)
        await response.write(b"retry: 3000\n\n")
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), PING_SECONDS)
            except asyncio.TimeoutError:
                async with request.app[SESSIONS]() as session:
                    if await auth.authenticate(session, token) is None:
                        log.info("desk.events_session_ended", agent_id=user.agent_id)
                        break
                await response.write(b": ping\n\n")
                continue
            data = json.dumps(
                {"id": event.conversation_id} if event.conversation_id is not None else {}
            )
            await response.write(f"event: {event.kind}\ndata: {data}\n\n".encode())
    return response


def add_routes(app: web.Application) -> None:
    """Register the desk's pages and API on the gateway."""
    app.router.add_get("/desk/login", get_login)
    app.router.add_post("/desk/login", post_login)
    app.router.add_post("/desk/logout", post_logout)
    app.router.add_get("/desk", get_desk)
    app.router.add_get("/desk/", get_desk)
    app.router.add_get("/desk/supervisor", get_supervisor)
    app.router.add_get("/desk/api/me", get_me)
    app.router.add_get("/desk/api/queue", get_queue)
    app.router.add_get("/desk/api/events", get_events)
    app.router.add_get("/desk/api/stats", get_stats)
    app.router.add_get("/desk/api/conversations/{conversation_id}", get_conversation)
    app.router.add_post("/desk/api/conversations/{conversation_id}/take", post_take)
    app.router.add_post("/desk/api/conversations/{conversation_id}/reply", post_reply)
    app.router.add_post("/desk/api/conversations/{conversation_id}/handback", post_handback)
    app.router.add_post("/desk/api/conversations/{conversation_id}/close", post_close)
    app.router.add_post("/desk/api/offers/{offer_id}/approve", post_approve)
    app.router.add_post("/desk/api/offers/{offer_id}/refuse", post_refuse)
