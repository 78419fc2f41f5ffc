"""Typed settings for each entry point; the original's environment names are aliases.

Only entry points build these; nothing reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(ValueError):
    """A setting with a bad value; the message is one line naming it."""


class MonolithSettings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="ignore", populate_by_name=True, frozen=True, case_sensitive=False
    )

    db_file: Path = Field(Path("monolith.db"), validation_alias="USE_DB_FILE")
    redis_endpoint: str = Field("localhost:6379", validation_alias="USE_REDIS_ENDPOINT")
    redis_url: str | None = Field(None, validation_alias="REDIS_URL")
    redis_timeout_s: float = Field(2.0, gt=0, le=60, validation_alias="REDIS_TIMEOUT")
    shadow_sample_percent: float = Field(
        100.0, ge=0, le=100, validation_alias="SHADOW_SAMPLE_PERCENT"
    )
    outbox_relay_interval_s: float = Field(
        1.0, gt=0, le=3600, validation_alias="OUTBOX_RELAY_INTERVAL"
    )
    phase_refresh_s: float = Field(1.0, ge=0, le=60, validation_alias="PHASE_REFRESH")
    private_key: SecretStr | None = Field(None, validation_alias="PRIVATE_KEY")
    private_key_file: Path = Field(Path("server.pem"), validation_alias="PRIVATE_KEY_FILE")
    token_lifetime_s: int = Field(30, gt=0, le=86_400, validation_alias="TOKEN_LIFETIME")
    fruits_endpoint: str = Field("http://127.0.0.1:8081", validation_alias="FRUITS_ENDPOINT")
    fruits_endpoint_external: str | None = Field(None, validation_alias="FRUITS_ENDPOINT_EXTERNAL")
    host: str = Field("127.0.0.1", validation_alias="HOST")
    port: int = Field(8080, ge=0, le=65_535, validation_alias="PORT")
    workers: int = Field(1, ge=1, le=64, validation_alias="WEB_CONCURRENCY")
    cookie_secure: bool = Field(False, validation_alias="COOKIE_SECURE")
    session_idle_timeout_s: float = Field(8 * 3600.0, gt=0, validation_alias="SESSION_IDLE_TIMEOUT")
    session_absolute_timeout_s: float = Field(
        7 * 24 * 3600.0, gt=0, validation_alias="SESSION_ABSOLUTE_TIMEOUT"
    )
    metrics_token: SecretStr | None = Field(None, validation_alias="METRICS_TOKEN")
    log_level: str = Field(
        "info", pattern="^(?i:debug|info|warning|error)$", validation_alias="LOG_LEVEL"
    )


def load_monolith_settings(**overrides: object) -> MonolithSettings:
    """Build settings from the environment plus `overrides`, or raise a one-line ConfigError."""
    try:
        return MonolithSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        name = ".".join(str(item) for item in error["loc"]) or "settings"
        parts.append(f"{name}: {error['msg']}")
    return "invalid configuration: " + "; ".join(parts)


def settings_as_env(settings: BaseModel) -> dict[str, str]:
    """The environment that rebuilds `settings`, keyed by each field's environment name."""
    env = {}
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if value is None or not isinstance(field.validation_alias, str):
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[field.validation_alias] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


DEFAULT_PUBLIC_KEY_FILE = Path("server.pem.pub")


class FruitsServiceSettings(BaseSettings):
    """The fruits microservice's settings; the original service's names where it had one."""

    model_config = SettingsConfigDict(
        extra="ignore", populate_by_name=True, frozen=True, case_sensitive=False
    )

    redis_endpoint: str = Field("localhost:6379", validation_alias="REDIS_ENDPOINT")
    redis_url: str | None = Field(None, validation_alias="REDIS_URL")
    redis_timeout_s: float = Field(2.0, gt=0, le=60, validation_alias="REDIS_TIMEOUT")
    public_key_file: Path | None = Field(None, validation_alias="PUBLIC_KEY_FILE")
    jwks_url: str | None = Field(None, pattern=r"^https?://\S+$", validation_alias="JWKS_URL")
    jwks_max_age_s: float = Field(300.0, gt=0, le=86_400, validation_alias="JWKS_MAX_AGE")
    jwks_cooldown_s: float = Field(30.0, ge=0, le=3600, validation_alias="JWKS_COOLDOWN")
    jwks_timeout_s: float = Field(2.0, gt=0, le=60, validation_alias="JWKS_TIMEOUT")
    http_origin: str = Field(
        "http://localhost:8080", pattern=r"^(\*|https?://[^/\s]+)$", validation_alias="HTTP_ORIGIN"
    )
    host: str = Field("127.0.0.1", validation_alias="HOST")
    port: int = Field(8081, ge=0, le=65_535, validation_alias="PORT")
    workers: int = Field(1, ge=1, le=64, validation_alias="WEB_CONCURRENCY")
    token_leeway_s: float = Field(5.0, ge=0, le=300, validation_alias="TOKEN_LEEWAY")
    token_cache_size: int = Field(10_000, ge=0, le=1_000_000, validation_alias="TOKEN_CACHE_SIZE")
    access_log: bool = Field(True, validation_alias="ACCESS_LOG")
    log_level: str = Field(
        "info", pattern="^(?i:debug|info|warning|error)$", validation_alias="LOG_LEVEL"
    )

    def key_file(self) -> Path | None:
        """PUBLIC_KEY_FILE; without it server.pem.pub, unless JWKS_URL alone gives the keys."""
        if self.public_key_file is not None:
            return self.public_key_file
        return None if self.jwks_url else DEFAULT_PUBLIC_KEY_FILE


def load_fruits_service_settings(**overrides: object) -> FruitsServiceSettings:
    """Build settings from the environment plus `overrides`, or raise a one-line ConfigError."""
    try:
        return FruitsServiceSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
