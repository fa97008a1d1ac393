"""`GET /pay/{token}`: where the bot's payment link lands.

A placeholder for the issuer's PCI-scoped payment service: it proves the link
works (signed, expiring, bound to one account) and shows what is due, but it
never asks for a card number here. An issuer replaces this page with a
redirect to its hosted payment page.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timezone

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.enums import Language
from bot.domain.formatting import format_money
from bot.domain.language import language_from_accept_header
from bot.services.accounts import AccountNotFound, account_summary
from bot.services.payment_links import InvalidPaymentLink, read_token
from bot.settings import Settings

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_TEXT = {
    Language.EN: {
        "title": "Secure payment",
        "due": "Amount due now",
        "balance": "Current balance",
        "card": "Card ending",
        "note": "This is a placeholder for the bank's secure payment service. "
        "In production this link opens the bank's payment page; never share your "
        "card number or CVV in chat or by text message.",
        "invalid": "This payment link has expired or is not valid. Please ask the "
        "assistant for a new one.",
    },
    Language.ZH: {
        "title": "安全还款",
        "due": "当前应还金额",
        "balance": "当前欠款余额",
        "card": "卡号尾号",
        "note": "此页面为银行安全支付服务的示意页面。正式环境中，该链接将打开银行的支付页面；"
        "请勿在聊天或短信中提供卡号或安全码。",
        "invalid": "此还款链接已过期或无效，请向智能助理重新获取。",
    },
}


@dataclass(frozen=True)
class PaymentPage:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]

    async def render(self, token: str, language: Language) -> tuple[int, str]:
        """Status and HTML for a token (410 for an expired or forged one)."""
        words = _TEXT[language]
        secret = self.settings.session_secret.get_secret_value()
        try:
            account_id = read_token(secret, token, datetime.now(timezone.utc))
            async with self.sessions() as session:
                summary = await account_summary(session, account_id)
        except (InvalidPaymentLink, AccountNotFound):
            return 410, _page(words["title"], f"<p>{html.escape(words['invalid'])}</p>", language)
        due = summary.minimum_due if summary.minimum_due > 0 else summary.balance
        rows = [
            (words["due"], format_money(due, summary.currency, language)),
            (words["balance"], format_money(summary.balance, summary.currency, language)),
            (words["card"], f"•••• {summary.card_last4 or '----'}"),
        ]
        table = "".join(
            f"<tr><th scope='row'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        body = f"<table>{table}</table><p class='note'>{html.escape(words['note'])}</p>"
        return 200, _page(words["title"], body, language)


def _page(title: str, body: str, language: Language) -> str:
    lang = "zh-CN" if language is Language.ZH else "en"
    return (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><link rel='stylesheet' href='/static/pay.css'>"
        f"</head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


PAYMENT_PAGE = web.AppKey("payment_page", PaymentPage)


async def get_pay(request: web.Request) -> web.Response:
    requested = request.query.get("lang")
    if requested in ("en", "zh"):
        language = Language(requested)
    else:
        header = request.headers.get("Accept-Language")
        language = language_from_accept_header(header) or Language.EN
    status, page = await request.app[PAYMENT_PAGE].render(request.match_info["token"], language)
    return web.Response(text=page, status=status, content_type="text/html", headers=_HEADERS)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/pay/{token}", get_pay)
