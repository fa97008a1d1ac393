"""The agent desk in a real browser (Debian's Chromium, headless, driven by Playwright).

Against the whole stack (`make run`'s processes and trained model):

- P3 asks the web chat for a plan the bot may not grant; an agent signs in,
  takes the conversation, approves the 24-month plan (an agent's authority),
  replies; the cardholder sees both in the chat page; the agent hands back
  and the bot asks the cardholder to confirm, which makes the agreement.
- P5 asks for 个性化分期 over 48 periods; the agent may not approve it (the
  button says why), a supervisor does, and the supervisor view shows it.

Screenshots of what agents see go to var/test-results/screenshots/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.engine import make_engine
from bot.db.models import Agreement, InboxMessage, Offer
from bot.domain.enums import OfferStatus
from bot.settings import PROJECT_ROOT
from tests.e2e.conftest import DESK_PASSWORDS, Stack

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SHOTS = PROJECT_ROOT / "var" / "test-results" / "screenshots"
WAIT_MS = 30_000  # a bot turn, plus the chat page's 5-second poll while a person has it


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
            "(scripts/ensure-chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _page(browser: Any, stack: Stack, path: str) -> Any:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(WAIT_MS)
    page.goto(stack.gateway + path)
    page.errors = errors
    return page


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _sign_in(browser: Any, stack: Stack, username: str) -> Any:
    page = _page(browser, stack, "/desk/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DESK_PASSWORDS[username])
    page.click("form#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/desk$"))
    return page


class Cardholder:
    """The web chat page, used as a cardholder would."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def say(self, text: str, expect: str) -> None:
        before = self.page.locator("li.msg").count()
        self.page.fill("#input", text)
        self.page.press("#input", "Enter")
        self.sees(expect, after=before)

    def sees(self, text: str, after: int = 0) -> None:
        self.page.locator("li.msg").nth(after).wait_for()
        self.page.locator("#messages").get_by_text(text, exact=False).last.wait_for()

    @property
    def conversation_id(self) -> str:
        value: str = self.page.evaluate("localStorage.getItem('harbor.chat.conversation')")
        return value


def _offers(stack: Stack, conversation_id: str) -> list[tuple[Any, ...]]:
    engine = make_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            return [
                tuple(row)
                for row in conn.execute(
                    select(Offer.id, Offer.status, Offer.decided_by, Offer.terms["months"])
                    .where(Offer.conversation_id == conversation_id)
                    .order_by(Offer.id)
                )
            ]
    finally:
        engine.dispose()


def _all_offers(stack: Stack) -> Any:
    engine = make_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(Offer.id, Offer.conversation_id, Offer.status)).all()
    finally:
        engine.dispose()


def _agreements(stack: Stack, conversation_id: str) -> list[tuple[Any, ...]]:
    engine = make_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            return [
                tuple(row)
                for row in conn.execute(
                    select(Agreement.id, Agreement.terms, Agreement.consent_text)
                    .join(Offer, Offer.id == Agreement.offer_id)
                    .where(Offer.conversation_id == conversation_id)
                )
            ]
    finally:
        engine.dispose()


def test_an_agent_approves_p3s_plan_and_hands_back_to_the_bot(stack: Stack, browser: Any) -> None:
    chat = Cardholder(_page(browser, stack, "/"))
    chat.page.click("button[data-lang=en]")
    chat.say("I lost my job and I can't pay", "mobile number")
    chat.say("206 555 0103", "date of birth")
    chat.say("July 21 1992", "last 4 digits")
    chat.say("5504", "How much could you")
    chat.say("I can pay 285 a month", "about 24 months")
    chat.say("Yes, please pass it on", "passed your request to a colleague")
    cid = chat.conversation_id

    agent = _sign_in(browser, stack, "agent")
    item = agent.locator(f'li.queue-item[data-conversation-id="{cid}"]')
    item.wait_for()
    _shot(agent, "desk_queue_en")
    item.click()
    agent.click("#take-btn")
    offer = agent.locator("li.offer").first
    offer.locator(".offer-approve:not([disabled])").wait_for()
    agent.locator("#account-panel").get_by_text("Sarah Kim").wait_for()
    assert "6,800" in agent.inner_text("#account-panel")
    _shot(agent, "desk_conversation_p3_en")
    offer.locator(".offer-approve").click()
    agent.click("#confirm-yes")
    agent.locator("#transcript").get_by_text("your request has been approved").wait_for()
    agent.fill("#reply-text", "Hi Sarah, I've approved 24 monthly payments for you.")
    agent.press("#reply-text", "Enter")
    agent.locator("#transcript .msg--agent").get_by_text("I've approved 24 monthly").wait_for()

    # The cardholder's page shows the agent's words, as they were sent.
    chat.sees("Good news: your request has been approved")
    chat.sees("Hi Sarah, I've approved 24 monthly payments for you.")
    found = _offers(stack, cid)
    assert len(found) == 1, (cid, found, _all_offers(stack))
    [(_, status, decided_by, months)] = found
    assert (status, decided_by, months) == (OfferStatus.APPROVED, "agent:agent", 24)

    assert chat.page.locator("#handoff-status").is_visible()  # "a person will reply here"
    agent.click("#handback-btn")
    chat.sees("A colleague has approved this arrangement")
    chat.page.locator("#handoff-status").wait_for(state="hidden")  # back with the bot
    _shot(chat.page, "chat_after_handback_en")
    chat.say("I agree", "it's agreed (reference")
    [(_, terms, consent)] = _agreements(stack, cid)
    assert terms["months"] == 24 and "I agree" in consent
    assert agent.errors == [] and chat.page.errors == []


def test_a_supervisor_approves_p5s_personalised_plan_over_48_periods(
    stack: Stack, browser: Any
) -> None:
    cid = "e2e-desk-p5"
    for text in ("我生病住院了，还不上钱", "13900139005", "1990年9月30日", "7712"):
        stack.chat(cid, text, language="zh")
    stack.chat(cid, "每个月大概能还六百", language="zh")
    stack.chat(cid, "48期", language="zh")
    submitted = stack.chat(cid, "有住院记录和诊断证明", language="zh")
    assert submitted["handed_off"] is True
    [(offer_id, status, _, _)] = _offers(stack, cid)
    assert status is OfferStatus.PENDING_APPROVAL

    agent = _sign_in(browser, stack, "agent")
    agent.click("#lang-toggle")
    agent.locator(f'li.queue-item[data-conversation-id="{cid}"]').click()
    offer = agent.locator(f'li.offer[data-offer-id="{offer_id}"]')
    offer.wait_for()
    assert offer.locator(".offer-approve").is_disabled()  # above an agent's authority
    _shot(agent, "desk_p5_agent_cannot_approve_zh")

    supervisor = _sign_in(browser, stack, "supervisor")
    supervisor.locator(f'li.queue-item[data-conversation-id="{cid}"]').click()
    approve = supervisor.locator(f'li.offer[data-offer-id="{offer_id}"] .offer-approve')
    approve.wait_for()
    assert "48" in supervisor.inner_text(f'li.offer[data-offer-id="{offer_id}"]')
    approve.click()
    supervisor.click("#confirm-yes")
    supervisor.locator("#transcript").get_by_text("您的申请已获批准").wait_for()
    [(_, status, decided_by, _)] = _offers(stack, cid)
    assert (status, decided_by) == (OfferStatus.APPROVED, "agent:supervisor")

    supervisor.goto(stack.gateway + "/desk/supervisor")
    supervisor.locator("figure.chart svg").nth(3).wait_for()
    supervisor.locator("#queue-length").wait_for()
    _shot(supervisor, "supervisor_view")
    assert agent.errors == [] and supervisor.errors == []


def _inbox_texts(stack: Stack, conversation_id: str) -> list[str]:
    engine = make_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            return list(
                conn.scalars(
                    select(InboxMessage.text)
                    .where(InboxMessage.conversation_id == conversation_id)
                    .order_by(InboxMessage.id)
                )
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("language", "text", "answer"),
    [
        ("en", "hello", "automated assistant"),
        ("zh", "你好", "智能助理"),
    ],
)
def test_the_page_resends_a_message_whose_answer_was_lost_and_it_counts_once(
    stack: Stack, browser: Any, language: str, text: str, answer: str
) -> None:
    """A proxy drops the first answer (502 after the gateway took the message)."""
    page = _page(browser, stack, "/")
    page.click(f"button[data-lang={language}]")
    posts: list[dict[str, Any]] = []

    def lose_the_first_answer(route: Any) -> None:
        posts.append(route.request.post_data_json)
        if len(posts) == 1:
            route.fetch()  # the gateway receives and answers it...
            route.fulfill(status=502, body="Bad Gateway")  # ...and the answer is lost
        else:
            route.continue_()

    page.route("**/api/chat", lose_the_first_answer)
    chat = Cardholder(page)
    chat.say(text, answer)

    assert len(posts) == 2
    assert posts[0]["client_message_id"] == posts[1]["client_message_id"]
    assert page.locator("li.msg--failed").count() == 0
    assert page.locator("#messages").get_by_text(answer, exact=False).count() == 1
    assert _inbox_texts(stack, chat.conversation_id) == [text]
    assert page.errors == []
