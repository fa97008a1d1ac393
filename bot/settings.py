"""One settings object for every process, read from the environment and `.env`.

Processes never read `os.environ` directly: they take a `Settings` (tests build
their own), so the same code serves the demo (SQLite, no Redis) and production
(PostgreSQL, Redis) by configuration alone.
"""

from __future__ import annotations

import json
from functools import lru_cache
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"

# Networks given as a comma-separated list ("10.0.0.0/8, 192.168.1.7") or JSON.
Networks = Annotated[list[IPvAnyNetwork], NoDecode]


class Settings(BaseSettings):
    """Runtime configuration. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # `.env.example` lists every variable, many blank: blank means "default".
        env_ignore_empty=True,
    )

    # Storage
    database_url: str = Field(
        default=f"sqlite:///{VAR_DIR / 'cardbot.db'}",
        description="SQLAlchemy URL; postgresql://… selects PostgreSQL (psycopg 3).",
    )
    redis_url: str | None = Field(
        default=None, description="Enables the Redis lock store and pub/sub fan-out."
    )
    spool_dir: Path = Field(
        default=VAR_DIR / "spool",
        description="Texts that arrive while the database is down wait here (fsynced).",
    )

    # Gateway
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    public_base_url: AnyHttpUrl | None = Field(
        default=None,
        description="Public https URL Twilio calls; signatures are computed against it.",
    )

    # Abuse limits (bot/gateway/ratelimit.py). Counts are per RATE_LIMIT_WINDOW_SECONDS;
    # 0 turns a limit off. Held in memory per gateway, or in Redis when REDIS_URL is set.
    rate_limit_window_seconds: int = Field(default=60, ge=1)
    rate_limit_chat_per_ip: int = Field(default=30, description="POST /api/chat per client IP.")
    rate_limit_chat_per_conversation: int = Field(
        default=20, description="POST /api/chat per conversation id."
    )
    rate_limit_chat_poll_per_ip: int = Field(
        default=120, description="GET /api/chat/{id}/messages per client IP (the page polls)."
    )
    rate_limit_pay_per_ip: int = Field(default=30, description="GET /pay/{token} per client IP.")
    rate_limit_health_per_ip: int = Field(default=120, description="GET /healthz per client IP.")
    rate_limit_sms_per_number: int = Field(
        default=20, description="Texts per sending number, counted once the signature is valid."
    )
    rate_limit_voice_per_call: int = Field(
        default=60, description="Voice webhooks per CallSid (a real call takes seconds a turn)."
    )
    rate_limit_exempt: Networks = Field(
        default_factory=lambda: [ip_network("127.0.0.0/8"), ip_network("::1/128")],
        description="Client addresses no per-IP limit applies to (the demo, tests, the bench).",
    )
    trusted_proxies: Networks = Field(
        default_factory=list,
        description="Peers whose X-Forwarded-For names the client (empty: trust no header).",
    )
    webhook_deadline_seconds: float = Field(
        default=12.0,
        gt=0,
        description="Twilio webhooks answer by then (Twilio waits 15 s), however slow the rest.",
    )
    chat_deadline_seconds: float = Field(
        default=30.0, gt=0, description="POST /api/chat answers 503 (retry) after this long."
    )
    max_request_bytes: int = Field(
        default=128 * 1024,
        ge=1024,
        description="Largest request body any endpoint accepts (413 above it).",
    )

    # Rasa server and action server (both bound to loopback)
    rasa_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:5005")
    rasa_token: SecretStr = SecretStr("")
    rasa_timeout_seconds: float = 10.0
    action_server_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:5055")

    # Twilio (webhooks are refused while the auth token is empty)
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from_number: str = Field(
        default="",
        description="E.164 number SMS and calls come from (per-channel overrides below).",
    )
    twilio_sms_from: str = ""
    twilio_voice_from: str = ""
    twilio_api_base: AnyHttpUrl | None = Field(
        default=None, description="Twilio REST API base; unset means https://api.twilio.com."
    )
    twilio_timeout_seconds: float = 10.0
    twilio_transfer_number: str = Field(
        default="", description="Calls handed to a person are dialled here; unset: <Enqueue>."
    )
    twilio_queue_name: str = "cardholders"
    twilio_voice_en: str = "Polly.Joanna"
    twilio_voice_zh: str = "Polly.Zhiyu"

    # Agent desk
    session_secret: SecretStr = SecretStr("")
    desk_cookie_secure: bool | None = Field(
        default=None,
        description="Secure flag on desk cookies; unset: on when PUBLIC_BASE_URL is https.",
    )
    desk_agent_password: SecretStr = Field(
        default=SecretStr(""), description="The demo seed's `agent` account password."
    )
    desk_supervisor_password: SecretStr = Field(
        default=SecretStr(""), description="The demo seed's `supervisor` account password."
    )

    # Branding: outbound messages name the bank before any verification.
    bank_name_en: str = "Harbor Bank"
    bank_name_zh: str = "港湾银行"

    # Offer limits, installment pricing and contact caps (CONTRACT.md §5, §6).
    policy_file: Path = Field(
        default=PROJECT_ROOT / "policy" / "default.yml",
        description="The versioned policy file; every offer records its version.",
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "console"
    metrics_token: SecretStr | None = Field(
        default=None,
        description=(
            "Bearer token for GET /metrics and /healthz/details from other hosts "
            "(unset: loopback clients only)."
        ),
    )

    @field_validator("rate_limit_exempt", "trusted_proxies", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (entrypoints only; library code takes a `Settings`)."""
    return Settings()
