"""Notification channels: a Slack-compatible webhook, e-mail over SMTP, and the run log.

Channels come from environment variables read at call time (`NotifyChannels.from_env`); the
webhook URL and the SMTP password are secrets: they never appear in reprs, logs or errors.
Sending never raises: each channel is tried `attempts` times with exponential backoff and the
outcome of every channel is returned in a DeliveryReport.
"""

from __future__ import annotations

import json
import os
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from datatrendz_pipelines.alerting.anomaly import Anomaly
from datatrendz_pipelines.alerting.message import format_event, format_message

Log = Callable[[str], None]
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class PermanentError(Exception):
    """A failure that retrying cannot fix (a 4xx answer, a refused login or recipient)."""


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` tries per channel; waits first_delay, first_delay x backoff, ... between."""

    attempts: int = 3
    first_delay: float = 1.0
    backoff: float = 2.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)


@dataclass(frozen=True)
class WebhookChannel:
    url: str = field(repr=False)
    timeout: float = 10.0


@dataclass(frozen=True)
class EmailChannel:
    host: str
    recipients: tuple[str, ...]
    sender: str
    port: int = 587
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    timeout: float = 10.0


@dataclass(frozen=True)
class NotifyChannels:
    """The external channels (None = not configured) and the retry policy."""

    webhook: WebhookChannel | None = None
    email: EmailChannel | None = None
    retry: RetryPolicy = RetryPolicy()

    @property
    def configured(self) -> list[str]:
        return [name for name in ("webhook", "email") if getattr(self, name) is not None]

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, retry: RetryPolicy | None = None
    ) -> NotifyChannels:
        """Channels from DATATRENDZ_ALERT_WEBHOOK_URL and DATATRENDZ_SMTP_* /
        DATATRENDZ_ALERT_EMAIL_*; raises ValueError naming the variable (never a secret's
        value) when one is malformed or e-mail is half configured."""
        env = os.environ if environ is None else environ
        url = env.get("DATATRENDZ_ALERT_WEBHOOK_URL", "").strip()
        if url and not url.startswith(("https://", "http://")):
            raise ValueError("DATATRENDZ_ALERT_WEBHOOK_URL must be an http(s) URL")
        return cls(
            webhook=WebhookChannel(url) if url else None,
            email=_email_from_env(env),
            retry=retry or RetryPolicy(),
        )


def _email_from_env(env: Mapping[str, str]) -> EmailChannel | None:
    host = env.get("DATATRENDZ_SMTP_HOST", "").strip()
    recipients = tuple(
        r.strip() for r in env.get("DATATRENDZ_ALERT_EMAIL_TO", "").split(",") if r.strip()
    )
    if not host and not recipients:
        return None
    if not host or not recipients:
        missing = "DATATRENDZ_SMTP_HOST" if not host else "DATATRENDZ_ALERT_EMAIL_TO"
        raise ValueError(f"e-mail alerts need {missing} as well")
    port = env.get("DATATRENDZ_SMTP_PORT", "587").strip()
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"DATATRENDZ_SMTP_PORT must be a port number, got {port!r}")
    user = env.get("DATATRENDZ_SMTP_USER", "").strip() or None
    starttls = env.get("DATATRENDZ_SMTP_STARTTLS", "").strip().lower()
    if starttls and starttls not in TRUE | FALSE:
        raise ValueError(f"DATATRENDZ_SMTP_STARTTLS must be true or false, got {starttls!r}")
    sender = env.get("DATATRENDZ_ALERT_EMAIL_FROM", "").strip()
    if not sender:
        sender = user if user and "@" in user else "datatrendz@localhost"
    return EmailChannel(
        host=host,
        recipients=recipients,
        sender=sender,
        port=int(port),
        user=user,
        password=env.get("DATATRENDZ_SMTP_PASSWORD") or None,
        starttls=starttls in TRUE if starttls else user is not None,
    )


@dataclass(frozen=True)
class ChannelResult:
    channel: str
    ok: bool
    attempts: int
    error: str | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """Outcome per channel. `delivered`: an external channel took the message, or none is
    configured and the run log did."""

    results: tuple[ChannelResult, ...] = ()
    items: int = 0

    @property
    def delivered(self) -> bool:
        external = [r for r in self.results if r.channel != "log"]
        return any(r.ok for r in (external or self.results))

    @property
    def error(self) -> str | None:
        failed = [f"{r.channel}: {r.error}" for r in self.results if not r.ok]
        return "; ".join(failed) or None


def _redact(text: str, channels: NotifyChannels) -> str:
    secrets = [channels.webhook.url if channels.webhook else None]
    secrets.append(channels.email.password if channels.email else None)
    for secret in filter(None, secrets):
        text = text.replace(secret, "***")
    return text


def _post_webhook(channel: WebhookChannel, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(
        channel.url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=channel.timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500 and exc.code not in (408, 429):
            raise PermanentError(f"HTTP {exc.code} {exc.reason}") from None
        raise RuntimeError(f"HTTP {exc.code} {exc.reason}") from None


def _send_email(channel: EmailChannel, subject: str, text: str) -> None:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.recipients)
    message.set_content(text)
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout) as smtp:
            if channel.starttls:
                smtp.starttls()
            if channel.user:
                smtp.login(channel.user, channel.password or "")
            smtp.send_message(message)
    except (
        smtplib.SMTPAuthenticationError,
        smtplib.SMTPRecipientsRefused,
        smtplib.SMTPSenderRefused,
        smtplib.SMTPNotSupportedError,
    ) as exc:
        raise PermanentError(f"{type(exc).__name__}: {exc}") from None


def _attempt(
    name: str, send: Callable[[], None], channels: NotifyChannels, log: Log
) -> ChannelResult:
    policy, delay, error = channels.retry, channels.retry.first_delay, None
    for attempt in range(1, policy.attempts + 1):
        try:
            send()
            return ChannelResult(name, True, attempt)
        except Exception as exc:  # a channel failure is reported, never raised
            error = _redact(f"{type(exc).__name__}: {exc}", channels)
            if isinstance(exc, PermanentError) or attempt == policy.attempts:
                _safe_log(log, f"alert {name} failed after {attempt} attempt(s): {error}")
                return ChannelResult(name, False, attempt, error)
            _safe_log(log, f"alert {name} attempt {attempt} failed ({error}); retrying")
            policy.sleep(delay)
            delay *= policy.backoff
    return ChannelResult(name, False, policy.attempts, error)


def _safe_log(log: Log | None, text: str) -> bool:
    try:
        if log is not None:
            log(text)
        return log is not None
    except Exception:
        return False


def _deliver(
    subject: str,
    text: str,
    payload: dict[str, Any],
    channels: NotifyChannels,
    log: Log | None,
    items: int,
) -> DeliveryReport:
    results = []
    if channels.webhook:
        hook = channels.webhook
        results.append(_attempt("webhook", lambda: _post_webhook(hook, payload), channels, log))
    if channels.email:
        mail = channels.email
        results.append(_attempt("email", lambda: _send_email(mail, subject, text), channels, log))
    if log is not None:
        ok = _safe_log(log, text.rstrip())
        results.append(ChannelResult("log", ok, 1, None if ok else "the log callable raised"))
    return DeliveryReport(tuple(results), items)


def send_notifications(
    anomalies: Sequence[Anomaly], channels: NotifyChannels | None = None, log: Log | None = None
) -> DeliveryReport:
    """Send one message listing `anomalies` to every configured channel and the run log
    (`log`, e.g. context.log.warning). Never raises; nothing is sent for an empty list.
    `channels` defaults to NotifyChannels.from_env()."""
    if not anomalies:
        return DeliveryReport()
    try:
        channels = channels or NotifyChannels.from_env()
    except ValueError as exc:
        _safe_log(log, f"alert channels misconfigured: {exc}")
        return DeliveryReport((ChannelResult("config", False, 0, str(exc)),), len(anomalies))
    subject, text, payload = format_message(anomalies)
    return _deliver(subject, text, payload, channels, log, len(anomalies))


def notify_event(
    title: str,
    text: str,
    link: str | None = None,
    channels: NotifyChannels | None = None,
    log: Log | None = None,
) -> DeliveryReport:
    """Send a generic event (run failure, failed check, missed freshness) with an optional
    link to every configured channel. Never raises."""
    try:
        channels = channels or NotifyChannels.from_env()
    except ValueError as exc:
        _safe_log(log, f"alert channels misconfigured: {exc}")
        return DeliveryReport((ChannelResult("config", False, 0, str(exc)),), 1)
    subject, body, payload = format_event(title, text, link)
    return _deliver(subject, body, payload, channels, log, 1)
