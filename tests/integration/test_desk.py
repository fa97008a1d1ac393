"""The agent desk over HTTP: sign-in, permissions, ownership routing, decisions.

The real gateway app on a seeded database, a fake Rasa and a fake Twilio
REST API on loopback (so SMS replies go through the real Twilio client).
Offer requests are made the way the bot makes them: the policy engine
evaluates the request and `request_agent_review` queues it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.engine import make_engine
from bot.db.models import (
    Agent,
    Agreement,
    AuditLog,
    Conversation,
    DeskSession,
    Handoff,
    HardshipCase,
    LoginAttempt,
    Offer,
)
from bot.desk.auth import MAX_FAILURES_PER_USERNAME, hash_password
from bot.desk.web import cookie_secure
from bot.domain.enums import (
    AgentRole,
    Authority,
    Channel,
    ConversationOwner,
    HandoffOutcome,
    Language,
    OfferStatus,
)
from bot.policy.loader import get_policy
from bot.policy.offers import HardshipPlanRequest, PersonalisedInstallmentRequest, evaluate
from bot.services.collections import load_snapshot, request_agent_review
from bot.services.conversations import PRIORITY_DISTRESS, request_handoff
from tests.conftest import DatabaseFactory
from tests.integration.twilio_support import (
    ClientFactory,
    Harness,
    restore,
    running_harness,
    seed_database,
    snapshot_consents,
)
from tests.support import mark_verified

PASSWORD = "correct horse battery staple"
SARAH = "+12065550103"  # P3, en, 45 days past due
LI_NA = "+8613900139005"  # P5, zh, 75 days past due (CN)


@pytest.fixture(scope="module")
def desk_db(database_factory: DatabaseFactory) -> str:
    return seed_database(database_factory)


@pytest.fixture(scope="module")
def seeded_consents(desk_db: str) -> list[dict[str, Any]]:
    return snapshot_consents(desk_db)


@pytest.fixture
def clean_db(desk_db: str, seeded_consents: list[dict[str, Any]]) -> Iterator[str]:
    yield desk_db
    _delete(desk_db, Agreement, Offer, HardshipCase)
    restore(desk_db, seeded_consents)  # conversations, handoffs, messages, audit
    _delete(desk_db, DeskSession, LoginAttempt, Agent)


def _delete(url: str, *models: type[Any]) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for model in models:
                conn.execute(delete(model))
    finally:
        engine.dispose()


@pytest.fixture
async def desk(aiohttp_client: ClientFactory, clean_db: str) -> AsyncIterator[Harness]:
    # The test client speaks plain http, so it would never send Secure cookies
    # back; the Secure flag itself is checked on its own below.
    async with running_harness(
        aiohttp_client, clean_db, desk_cookie_secure=False, desk_poll_seconds=0.2
    ) as harness:
        async with harness.sessions() as session, session.begin():
            for username, name, role in (
                ("alice", "Alice Wong", AgentRole.AGENT),
                ("bob", "Bob Stone", AgentRole.AGENT),
                ("sam", "Sam Lee", AgentRole.SUPERVISOR),
            ):
                session.add(
                    Agent(
                        username=username,
                        display_name=name,
                        role=role,
                        password_hash=hash_password(PASSWORD),
                        active=True,
                    )
                )
        yield harness


class Desk:
    """One signed-in browser: its own cookie jar, its CSRF token."""

    def __init__(self, client: Any, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    async def get(self, path: str) -> tuple[int, Any]:
        response = await self.client.get(path)
        return response.status, await response.json()

    async def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        response = await self.client.post(
            path, json=body or {}, headers={"X-CSRF-Token": self.csrf}
        )
        return response.status, await response.json()


async def sign_in(
    harness: Harness, aiohttp_client: ClientFactory, username: str, password: str = PASSWORD
) -> Desk:
    """A new client (own cookies) signed in as `username`."""
    client = await aiohttp_client(harness.client.server)
    await client.get("/desk/login")
    token = _cookie(client, "desk_login_csrf")
    response = await client.post(
        "/desk/login",
        data={"username": username, "password": password, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/desk"
    me = await client.get("/desk/api/me")
    assert me.status == 200
    return Desk(client, (await me.json())["csrf_token"])


def _cookie(client: Any, name: str) -> str:
    for cookie in client.session.cookie_jar:
        if cookie.key == name:
            return str(cookie.value)
    raise AssertionError(f"no cookie {name}")


async def hardship_review(
    sessions: async_sessionmaker[AsyncSession],
    cid: str,
    ref: str,
    *,
    months: int | None = None,
    periods: int | None = None,
    channel: Channel = Channel.WEB,
    language: Language = Language.EN,
    address: str | None = None,
) -> int:
    """What the bot does when a verified cardholder asks beyond its authority."""
    account_id = await mark_verified(
        sessions, cid, ref, channel=channel, language=language, address=address
    )
    async with sessions() as session, session.begin():
        today = date.today()
        snapshot = await load_snapshot(session, account_id, today)
        request = (
            HardshipPlanRequest(months=months)
            if months is not None
            else PersonalisedInstallmentRequest(periods=periods or 48)
        )
        decision = evaluate(get_policy(_settings()), snapshot, request, today)
        offer = await request_agent_review(
            session,
            account_id=account_id,
            conversation_id=cid,
            decision=decision,
            summary="job loss; asks for lower payments",
        )
        return offer.id


def _settings() -> Any:
    from bot.settings import Settings

    return Settings(_env_file=None)


async def owner_of(sessions: async_sessionmaker[AsyncSession], cid: str) -> Conversation:
    async with sessions() as session:
        found = await session.get(Conversation, cid)
        assert found is not None
        return found


# --- sign-in, sessions and permissions -------------------------------------------------


async def test_anonymous_users_reach_nothing_but_the_sign_in_page(desk: Harness) -> None:
    client = desk.client
    for path in ("/desk", "/desk/supervisor"):
        response = await client.get(path, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (303, "/desk/login")
    for path in ("/desk/api/queue", "/desk/api/me", "/desk/api/events", "/desk/api/stats"):
        assert (await client.get(path)).status == 401, path
    response = await client.post("/desk/api/conversations/web-x/take")
    assert response.status == 401
    login = await client.get("/desk/login")
    assert login.status == 200
    assert "script-src 'self'" in login.headers["Content-Security-Policy"]


async def test_passwords_are_stored_as_argon2id_hashes_only(desk: Harness) -> None:
    async with desk.sessions() as session:
        hashes = (await session.scalars(select(Agent.password_hash))).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(PASSWORD in h for h in hashes)


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    client = await aiohttp_client(desk.client.server)
    statuses = []
    for username, password in (("alice", "nope"), ("nobody", PASSWORD)):
        await client.get("/desk/login")
        response = await client.post(
            "/desk/login",
            data={
                "username": username,
                "password": password,
                "csrf_token": _cookie(client, "desk_login_csrf"),
            },
            allow_redirects=False,
        )
        statuses.append(response.status)
        page = await response.text()
        assert "Wrong username or password" in page
    assert statuses == [401, 401]
    assert (await client.get("/desk/api/me")).status == 401


async def test_sign_in_needs_the_forms_own_csrf_token(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    client = await aiohttp_client(desk.client.server)
    await client.get("/desk/login")
    response = await client.post(
        "/desk/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": "forged"},
        allow_redirects=False,
    )
    assert response.status == 403
    assert (await client.get("/desk/api/me")).status == 401


async def test_repeated_failures_lock_the_username_even_for_the_right_password(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    client = await aiohttp_client(desk.client.server)

    async def attempt(password: str) -> int:
        await client.get("/desk/login")
        response = await client.post(
            "/desk/login",
            data={
                "username": "alice",
                "password": password,
                "csrf_token": _cookie(client, "desk_login_csrf"),
            },
            allow_redirects=False,
        )
        return response.status

    failures = [await attempt("wrong") for _ in range(MAX_FAILURES_PER_USERNAME)]
    assert failures == [401] * MAX_FAILURES_PER_USERNAME
    assert await attempt(PASSWORD) == 429
    # Other people are not locked out by it.
    bob = await sign_in(desk, aiohttp_client, "bob")
    assert (await bob.get("/desk/api/me"))[0] == 200


async def test_session_cookies_are_http_only_strict_and_secure_behind_https(
    desk: Harness, aiohttp_client: ClientFactory, clean_db: str
) -> None:
    async with running_harness(aiohttp_client, clean_db) as https:  # PUBLIC_BASE_URL is https
        client = https.client
        assert cookie_secure(https.settings)
        await _signed_in_cookie_check(client)


async def _signed_in_cookie_check(client: Any) -> None:
    form = await client.get("/desk/login")
    token = form.cookies["desk_login_csrf"].value
    # Sent by hand: the client's jar keeps Secure cookies away from plain http.
    response = await client.post(
        "/desk/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        headers={"Cookie": f"desk_login_csrf={token}"},
        allow_redirects=False,
    )
    assert response.status == 303
    cookie = next(
        value
        for value in response.headers.getall("Set-Cookie")
        if value.startswith("desk_session=")
    )
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "secure" in lowered
    assert "path=/desk" in lowered


async def test_a_session_id_planted_before_sign_in_is_never_promoted(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    planted = "attacker-chosen-session-id-0123456789"
    victim = await aiohttp_client(desk.client.server)
    victim.session.cookie_jar.update_cookies({"desk_session": planted})
    await victim.get("/desk/login")
    response = await victim.post(
        "/desk/login",
        data={
            "username": "alice",
            "password": PASSWORD,
            "csrf_token": _cookie(victim, "desk_login_csrf"),
        },
        allow_redirects=False,
    )
    assert response.status == 303
    fresh = response.cookies["desk_session"].value
    assert fresh != planted
    browser = await aiohttp_client(desk.client.server)
    browser.session.cookie_jar.update_cookies({"desk_session": fresh})
    me = await (await browser.get("/desk/api/me")).json()
    assert me["username"] == "alice"
    attacker = await aiohttp_client(desk.client.server)
    attacker.session.cookie_jar.update_cookies({"desk_session": planted})
    assert (await attacker.get("/desk/api/me")).status == 401
    async with desk.sessions() as session:
        stored = (await session.scalars(select(DeskSession.id))).all()
    assert fresh not in stored  # only the token's hash is kept


async def test_signing_out_ends_the_session_at_once(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    alice = await sign_in(desk, aiohttp_client, "alice")
    token = _cookie(alice.client, "desk_session")
    response = await alice.client.post(
        "/desk/logout", headers={"X-CSRF-Token": alice.csrf}, allow_redirects=False
    )
    assert response.status == 303
    replay = await aiohttp_client(desk.client.server)
    replay.session.cookie_jar.update_cookies({"desk_session": token})
    assert (await replay.get("/desk/api/me")).status == 401


async def test_state_changes_need_the_sessions_csrf_token_and_our_origin(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    await request_handoff_for(desk, "web-csrf")
    alice = await sign_in(desk, aiohttp_client, "alice")
    path = "/desk/api/conversations/web-csrf/take"
    assert (await alice.client.post(path)).status == 403
    assert (await alice.client.post(path, headers={"X-CSRF-Token": "wrong"})).status == 403
    cross = await alice.client.post(
        path, headers={"X-CSRF-Token": alice.csrf, "Origin": "https://evil.example"}
    )
    assert cross.status == 403
    assert (await owner_of(desk.sessions, "web-csrf")).owner is ConversationOwner.WAITING
    status, _ = await alice.post(path)
    assert status == 200


async def test_only_supervisors_see_the_supervisor_view(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    alice = await sign_in(desk, aiohttp_client, "alice")
    sam = await sign_in(desk, aiohttp_client, "sam")
    assert (await alice.client.get("/desk/supervisor")).status == 403
    assert (await alice.client.get("/desk/api/stats")).status == 403
    page = await sam.client.get("/desk/supervisor")
    assert page.status == 200
    status, stats = await sam.get("/desk/api/stats?days=7")
    assert status == 200
    assert set(stats) >= {"queue", "wait_to_take", "handoffs_by_reason", "containment"}
    assert (await sam.client.get("/desk/api/stats?days=0")).status == 400


async def request_handoff_for(
    harness: Harness,
    cid: str,
    *,
    reason: str = "request_human",
    priority: int = 0,
    language: Language = Language.EN,
) -> None:
    async with harness.sessions() as session, session.begin():
        session.add(Conversation(id=cid, channel=Channel.WEB, language=language))
        await session.flush()
        await request_handoff(session, cid, reason=reason, priority=priority)


# --- the queue, taking and routing -------------------------------------------------------


async def test_the_queue_puts_distress_first_then_the_longest_waiting(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    await request_handoff_for(desk, "web-q1")
    await request_handoff_for(desk, "web-q2")
    await request_handoff_for(desk, "web-q3", reason="distress", priority=PRIORITY_DISTRESS)
    alice = await sign_in(desk, aiohttp_client, "alice")
    status, queue = await alice.get("/desk/api/queue")
    assert status == 200
    assert [entry["id"] for entry in queue["waiting"]] == ["web-q3", "web-q1", "web-q2"]
    assert queue["waiting"][0]["reason"] == "distress"
    assert queue["mine"] == [] and queue["others"] == []


async def test_taking_a_conversation_routes_its_messages_to_the_agent(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    await hardship_review(desk.sessions, "web-p3", "P3", months=24)
    alice = await sign_in(desk, aiohttp_client, "alice")
    bob = await sign_in(desk, aiohttp_client, "bob")

    status, taken = await alice.post("/desk/api/conversations/web-p3/take")
    assert status == 200
    assert (taken["conversation"]["owner"], taken["conversation"]["agent"]) == ("agent", "alice")
    status, clash = await bob.post("/desk/api/conversations/web-p3/take")
    assert status == 409 and "alice" in clash["error"]
    assert "web-p3" in desk.rasa.paused
    async with desk.sessions() as session:
        handoff = await session.scalar(select(Handoff).where(Handoff.conversation_id == "web-p3"))
        assert handoff is not None and handoff.taken_at is not None

    answer = await desk.client.post(
        "/api/chat", json={"conversation_id": "web-p3", "text": "is anyone there?"}
    )
    body = await answer.json()
    assert body["handed_off"] is True and body["messages"] == []
    assert desk.rasa.messages("web-p3")[-1] == "is anyone there?"  # logged, not answered

    status, view = await alice.get("/desk/api/conversations/web-p3")
    assert status == 200
    texts = [(item["author"], item["text"]) for item in view["transcript"]]
    assert ("agent:alice", "You're now talking with Alice Wong from our team.") in texts
    assert texts[-1] == ("cardholder", "is anyone there?")
    assert view["can_reply"] is True
    account = view["account"]
    assert account["cardholder"] == "Sarah Kim"
    assert account["card_last4"] == "5504"
    assert account["bucket"] == "mid"
    assert account["phone"] == "+1206•••0103"
    assert "6800" in account["balance"]


async def test_an_unverified_conversation_shows_no_account(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    await request_handoff_for(desk, "web-anon")
    alice = await sign_in(desk, aiohttp_client, "alice")
    status, view = await alice.get("/desk/api/conversations/web-anon")
    assert status == 200
    assert view["account"] is None
    assert view["can_reply"] is False  # not taken yet
    assert (await alice.get("/desk/api/conversations/nope"))[0] == 404


async def test_an_agents_reply_reaches_the_web_chat_and_rasas_transcript(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    await request_handoff_for(desk, "web-reply")
    alice = await sign_in(desk, aiohttp_client, "alice")
    bob = await sign_in(desk, aiohttp_client, "bob")
    await alice.post("/desk/api/conversations/web-reply/take")

    status, sent = await alice.post(
        "/desk/api/conversations/web-reply/reply",
        {"text": "Hi, I'm looking at it. Card 4111 1111 1111 1111?"},
    )
    assert status == 200, sent
    assert sent["delivery"] == "web"
    assert "4111 1111 1111 1111" not in sent["message"]["text"]
    page = await (await desk.client.get("/api/chat/web-reply/messages?after=0")).json()
    [agent_text] = [m["text"] for m in page["messages"] if m["text"].startswith("Hi, I'm")]
    assert agent_text.endswith("•••• 1111?")
    assert any(
        kind == "bot" and value.startswith("agent:alice:Hi, I'm")
        for kind, _, value in desk.rasa.events
    )
    status, _ = await bob.post("/desk/api/conversations/web-reply/reply", {"text": "me too"})
    assert status == 409
    assert (await alice.post("/desk/api/conversations/web-reply/reply", {"text": " "}))[0] == 422
    assert (await alice.post("/desk/api/conversations/web-reply/reply", {"x": 1}))[0] == 400


async def test_an_agents_reply_to_a_text_conversation_is_sent_by_sms(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    cid = "sms:12065550103"
    await hardship_review(desk.sessions, cid, "P3", months=24, channel=Channel.SMS, address=SARAH)
    alice = await sign_in(desk, aiohttp_client, "alice")
    await alice.post(f"/desk/api/conversations/{cid}/take")

    status, sent = await alice.post(
        f"/desk/api/conversations/{cid}/reply", {"text": "Sarah, I can approve 24 months."}
    )

    assert (status, sent["delivery"]) == (200, "sms")
    bodies = desk.api.bodies_to(SARAH)
    assert "You're now talking with Alice Wong from our team." in bodies
    assert "Sarah, I can approve 24 months." in bodies


# --- decisions --------------------------------------------------------------------------


async def test_an_agent_approves_within_authority_and_the_decision_is_audited(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    offer_id = await hardship_review(desk.sessions, "web-approve", "P3", months=24)
    alice = await sign_in(desk, aiohttp_client, "alice")
    await alice.post("/desk/api/conversations/web-approve/take")
    _, view = await alice.get("/desk/api/conversations/web-approve")
    [pending] = view["offers_pending"]
    assert pending["id"] == offer_id
    assert (pending["authority_required"], pending["can_decide"]) == ("agent", True)
    assert "24" in pending["summary"]["en"] and "24" in pending["summary"]["zh"]

    status, decided = await alice.post(
        f"/desk/api/offers/{offer_id}/approve", {"note": "income verified"}
    )

    assert status == 200, decided
    assert (decided["offer"]["status"], decided["offer"]["decided_by"]) == (
        "approved",
        "agent:alice",
    )
    async with desk.sessions() as session:
        entry = await session.scalar(select(AuditLog).where(AuditLog.action == "offer_approved"))
    assert entry is not None and entry.actor == "agent:alice"
    assert entry.details["role"] == "agent" and entry.details["note"] == "income verified"
    assert entry.policy_version == get_policy(_settings()).version
    page = await (await desk.client.get("/api/chat/web-approve/messages?after=0")).json()
    assert any(
        m["text"].startswith("Good news: your request has been approved") for m in page["messages"]
    )
    again = await alice.post(f"/desk/api/offers/{offer_id}/approve")
    assert again[0] == 409


async def test_an_agent_can_never_approve_above_their_authority(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    cid = "sms:8613900139005"
    offer_id = await hardship_review(
        desk.sessions,
        cid,
        "P5",
        periods=48,
        channel=Channel.SMS,
        language=Language.ZH,
        address=LI_NA,
    )
    alice = await sign_in(desk, aiohttp_client, "alice")
    sam = await sign_in(desk, aiohttp_client, "sam")
    await alice.post(f"/desk/api/conversations/{cid}/take")
    _, view = await alice.get(f"/desk/api/conversations/{cid}")
    [pending] = view["offers_pending"]
    assert (pending["authority_required"], pending["can_decide"]) == ("supervisor", False)

    status, refused = await alice.post(f"/desk/api/offers/{offer_id}/approve")
    assert status == 403 and "supervisor" in refused["error"]
    assert (await alice.post(f"/desk/api/offers/{offer_id}/refuse"))[0] == 403
    async with desk.sessions() as session:
        offer = await session.get(Offer, offer_id)
        assert offer is not None and offer.status is OfferStatus.PENDING_APPROVAL
        assert offer.authority_required is Authority.SUPERVISOR

    status, approved = await sam.post(f"/desk/api/offers/{offer_id}/approve")
    assert status == 200 and approved["offer"]["decided_by"] == "agent:sam"
    # The cardholder hears it in Chinese, by text.
    assert any(body.startswith("好消息:您的申请已获批准") for body in desk.api.bodies_to(LI_NA))


async def test_a_policy_change_since_the_request_needs_a_supervisor(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    offer_id = await hardship_review(desk.sessions, "web-stale", "P3", months=24)
    async with desk.sessions() as session, session.begin():
        offer = await session.get(Offer, offer_id)
        assert offer is not None
        offer.policy_version = "2000.01-1"
    alice = await sign_in(desk, aiohttp_client, "alice")
    await alice.post("/desk/api/conversations/web-stale/take")
    assert (await alice.post(f"/desk/api/offers/{offer_id}/approve"))[0] == 403


async def test_refusing_tells_the_cardholder_and_keeps_the_offer_closed(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    offer_id = await hardship_review(desk.sessions, "web-refuse", "P3", months=24)
    alice = await sign_in(desk, aiohttp_client, "alice")
    await alice.post("/desk/api/conversations/web-refuse/take")
    status, decided = await alice.post(f"/desk/api/offers/{offer_id}/refuse", {"note": "no"})
    assert status == 200 and decided["offer"]["status"] == "rejected"
    page = await (await desk.client.get("/api/chat/web-refuse/messages?after=0")).json()
    assert any(m["text"].startswith("We're sorry: we can't approve") for m in page["messages"])


# --- handing back and closing -----------------------------------------------------------


async def test_handing_back_resumes_the_bot_which_speaks_first(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    await request_handoff_for(desk, "web-back")
    desk.rasa.intent_replies["EXTERNAL_handback"] = [
        {"text": "Thanks for waiting.", "buttons": [{"title": "I agree", "payload": "/affirm"}]}
    ]
    alice = await sign_in(desk, aiohttp_client, "alice")
    await alice.post("/desk/api/conversations/web-back/take")

    status, back = await alice.post("/desk/api/conversations/web-back/handback")

    assert status == 200 and back["conversation"]["owner"] == "bot"
    kinds = [(kind, value) for kind, sender, value in desk.rasa.events if sender == "web-back"]
    assert kinds[-3:] == [("resume", ""), ("slot", "language=en"), ("intent", "EXTERNAL_handback:")]
    page = await (await desk.client.get("/api/chat/web-back/messages?after=0")).json()
    last = page["messages"][-1]
    assert (last["text"], last["buttons"][0]["payload"]) == ("Thanks for waiting.", "/affirm")
    async with desk.sessions() as session:
        handoff = await session.scalar(select(Handoff).where(Handoff.conversation_id == "web-back"))
    assert handoff is not None and handoff.outcome is HandoffOutcome.HANDED_BACK
    assert handoff.ended_by == "agent:alice"
    # The bot answers the next message itself.
    answer = await desk.client.post("/api/chat", json={"conversation_id": "web-back", "text": "ok"})
    assert (await answer.json())["messages"][0]["text"] == "You said: ok"


async def test_handing_back_when_rasa_is_down_still_frees_the_conversation(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    await request_handoff_for(desk, "web-back-zh", language=Language.ZH)
    alice = await sign_in(desk, aiohttp_client, "alice")
    await alice.post("/desk/api/conversations/web-back-zh/take")
    desk.rasa.mode = "error"

    status, _ = await alice.post("/desk/api/conversations/web-back-zh/handback")

    assert status == 200
    assert (await owner_of(desk.sessions, "web-back-zh")).owner is ConversationOwner.BOT
    page = await (await desk.client.get("/api/chat/web-back-zh/messages?after=0")).json()
    assert page["messages"][-1]["text"] == "现在由智能助手继续为您服务。还有什么可以帮您?"


async def test_closing_ends_the_handoff_and_the_next_message_reopens_with_the_bot(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    await request_handoff_for(desk, "web-close")
    alice = await sign_in(desk, aiohttp_client, "alice")
    bob = await sign_in(desk, aiohttp_client, "bob")
    await alice.post("/desk/api/conversations/web-close/take")
    assert (await bob.post("/desk/api/conversations/web-close/close"))[0] == 409

    status, closed = await alice.post("/desk/api/conversations/web-close/close")

    assert status == 200 and closed["conversation"]["owner"] == "closed"
    assert "web-close" not in desk.rasa.paused
    answer = await desk.client.post(
        "/api/chat", json={"conversation_id": "web-close", "text": "one more thing"}
    )
    assert (await answer.json())["messages"][0]["text"] == "You said: one more thing"
    async with desk.sessions() as session:
        outcomes = (
            await session.scalars(
                select(Handoff.outcome).where(Handoff.conversation_id == "web-close")
            )
        ).all()
    assert outcomes == [HandoffOutcome.CLOSED]


# --- live updates -----------------------------------------------------------------------


async def test_the_event_stream_signals_changes_made_through_the_desk_and_elsewhere(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    alice = await sign_in(desk, aiohttp_client, "alice")
    bob = await sign_in(desk, aiohttp_client, "bob")
    response = await alice.client.get("/desk/api/events")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")

    async def next_event() -> tuple[str, dict[str, Any]]:
        kind = ""
        while True:
            line = (await asyncio.wait_for(response.content.readline(), 5)).decode().strip()
            if line.startswith("event: "):
                kind = line[len("event: ") :]
            elif line.startswith("data: ") and kind:
                return kind, json.loads(line[len("data: ") :])

    # Queued by something other than the desk (an action, another gateway):
    # the watcher notices within its poll interval.
    await request_handoff_for(desk, "web-live")
    seen = [await next_event() for _ in range(2)]
    assert ("conversation", "web-live") in {(k, d.get("id")) for k, d in seen}
    await bob.post("/desk/api/conversations/web-live/take")
    kinds = {(k, d.get("id")) for k, d in [await next_event(), await next_event()]}
    assert ("conversation", "web-live") in kinds
    response.close()


async def test_the_desks_own_notices_are_in_chinese_for_a_chinese_conversation(
    desk: Harness, aiohttp_client: ClientFactory
) -> None:
    offer_id = await hardship_review(
        desk.sessions, "web-zh-desk", "P5", periods=48, language=Language.ZH
    )
    sam = await sign_in(desk, aiohttp_client, "sam")
    await sam.post("/desk/api/conversations/web-zh-desk/take")
    assert (await sam.post(f"/desk/api/offers/{offer_id}/refuse"))[0] == 200
    assert (await sam.post("/desk/api/conversations/web-zh-desk/close"))[0] == 200

    page = await (await desk.client.get("/api/chat/web-zh-desk/messages?after=0")).json()
    texts = [m["text"] for m in page["messages"]]
    assert "我们的客服Sam Lee已接入,正在为您服务。" in texts
    assert any(t.startswith("很抱歉,您的申请暂时无法按原方案批准。") for t in texts)
    assert texts[-1] == "本次对话已结束。如有需要,欢迎随时再联系我们。"
