"""One settings object for every process, read from the environment and `.env`.

Processes never read `os.environ` directly: they take a `Settings` (tests build
their own), so the same code serves the demo (SQLite, no Redis) and production
(PostgreSQL, Redis) by configuration alone.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"


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

    # Gateway
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    public_base_url: AnyHttpUrl | None = Field(
        default=None,
        description="Public https URL Twilio calls; signatures are computed against it.",
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

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (entrypoints only; library code takes a `Settings`)."""
    return Settings()
