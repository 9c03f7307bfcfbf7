"""Notifications to a local webhook (http.server) and a local SMTP server (aiosmtpd), and the
alert history that keeps the same alert from being sent twice. Loopback only."""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import duckdb
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from datatrendz_pipelines.alerting.anomaly import Anomaly
from datatrendz_pipelines.alerting.dispatch import dispatch_alerts
from datatrendz_pipelines.alerting.message import format_message
from datatrendz_pipelines.alerting.notify import (
    EmailChannel,
    NotifyChannels,
    RetryPolicy,
    WebhookChannel,
    notify_event,
    send_notifications,
)
from datatrendz_pipelines.alerting.store import pending_anomalies, record_anomalies

DAY = dt.date(2024, 4, 22)
FAST = RetryPolicy(attempts=3, first_delay=0.01, backoff=2.0)
ANOMALIES = [
    Anomaly("traffic_anomaly", "total", DAY, 4000.0, 800.0, 1200.0, "critical", "Traffic spike"),
    Anomaly("low_stock", "S1|P1", DAY, 2.5, 7.0, None, "warning", "Product P1 <low> & selling"),
    Anomaly("low_stock", "S1|P2", DAY, 5.0, 7.0, None, "info", "Product P2 low"),
]


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def email_channel(port: int, **kwargs: object) -> EmailChannel:
    return EmailChannel(
        host="127.0.0.1",
        port=port,
        sender="alerts@example.com",
        recipients=("ops@example.com", "ceo@example.com"),
        starttls=False,
        timeout=5,
        **kwargs,
    )


def test_format_message_groups_by_severity():
    subject, text, payload = format_message(ANOMALIES)
    assert subject == "[DataTrendz] 3 alerts for 2024-04-22: 1 critical, 1 warning, 1 info"
    assert text.index("CRITICAL (1)") < text.index("WARNING (1)") < text.index("INFO (1)")
    assert "Traffic spike" in text
    assert payload["text"] == subject
    assert payload["blocks"][0]["type"] == "header"
    sections = [b["text"]["text"] for b in payload["blocks"][1:]]
    assert len(sections) == 3 and "CRITICAL" in sections[0]
    assert "&lt;low&gt; &amp; selling" in sections[1]


def test_format_message_caps_long_groups():
    many = [Anomaly("low_stock", f"S1|P{i}", DAY, 1.0, 7.0, None, "info", "low") for i in range(60)]
    _, text, payload = format_message(many, max_items=10)
    assert "... and 50 more" in text
    assert text.count("\n- ") == 10
    assert len(payload["blocks"][1]["text"]["text"]) <= 3000


def test_webhook_and_email_receive_the_alerts(webhook, smtp):
    inbox, port = smtp
    channels = NotifyChannels(WebhookChannel(webhook.url), email_channel(port), FAST)
    logged: list[str] = []
    report = send_notifications(ANOMALIES, channels, logged.append)
    assert report.delivered and report.error is None
    assert [r.channel for r in report.results] == ["webhook", "email", "log"]
    [post] = webhook.posts
    assert post["text"].startswith("[DataTrendz] 3 alerts")
    assert any("Traffic spike" in b["text"]["text"] for b in post["blocks"][1:])
    [(recipients, message)] = inbox.envelopes
    assert recipients == ["ops@example.com", "ceo@example.com"]
    assert message["Subject"] == post["text"]
    assert message["From"] == "alerts@example.com"
    assert "CRITICAL (1)" in message.get_payload() and "Product P2 low" in message.get_payload()
    assert any("Traffic spike" in line for line in logged)


def test_a_second_round_sends_nothing_new(webhook, smtp):
    inbox, port = smtp
    conn = duckdb.connect()
    channels = NotifyChannels(WebhookChannel(webhook.url), email_channel(port), FAST)
    sent, report = dispatch_alerts(conn, ANOMALIES, channels)
    assert len(sent) == 3 and report.delivered
    newer = Anomaly("traffic_anomaly", "total", DAY, 4100.0, 800.0, 1200.0, "critical", "again")
    extra = Anomaly("low_stock", "S2|P9", DAY, 1.0, 7.0, None, "warning", "new one")
    sent, _ = dispatch_alerts(conn, [newer, *ANOMALIES[1:]], channels)
    assert sent == []
    row = conn.execute(
        "SELECT measured_value, message, first_seen_at < last_seen_at, notify_attempts "
        "FROM meta.alerts WHERE rule = 'traffic_anomaly'"
    ).fetchone()
    assert row == (4100.0, "again", True, 1)  # values refreshed, first seen and notified kept
    sent, _ = dispatch_alerts(conn, [*ANOMALIES, extra], channels)
    assert sent == [extra]
    assert len(webhook.posts) == 2 and len(inbox.envelopes) == 2
    assert "new one" in webhook.posts[1]["blocks"][1]["text"]["text"]
    assert "Traffic spike" not in json.dumps(webhook.posts[1])


def test_webhook_failing_twice_is_retried_and_succeeds(webhook):
    webhook.statuses = [500, 500]
    logged: list[str] = []
    channels = NotifyChannels(webhook=WebhookChannel(webhook.url), retry=FAST)
    report = send_notifications(ANOMALIES, channels, logged.append)
    [result, _log] = report.results
    assert (result.channel, result.ok, result.attempts) == ("webhook", True, 3)
    assert len(webhook.posts) == 3 and webhook.posts[0] == webhook.posts[2]
    assert sum("retrying" in line for line in logged) == 2


def test_a_webhook_that_always_fails_is_recorded_and_does_not_raise(webhook):
    webhook.statuses = [503] * 10
    conn = duckdb.connect()
    logged: list[str] = []
    channels = NotifyChannels(webhook=WebhookChannel(webhook.url), retry=FAST)
    sent, report = dispatch_alerts(conn, ANOMALIES, channels, logged.append)
    assert len(sent) == 3 and not report.delivered
    assert "HTTP 503" in report.error
    rows = conn.execute(
        "SELECT notified_at, notify_attempts, last_error FROM meta.alerts ORDER BY entity"
    ).fetchall()
    assert rows and all(r[0] is None and r[1] == 1 and "HTTP 503" in r[2] for r in rows)
    assert len(webhook.posts) == 3
    # never notified: a later round tries again, and the secret URL was never logged
    assert len(pending_anomalies(conn)) == 3
    assert len(record_anomalies(conn, ANOMALIES)) == 3
    assert not any("SECRET-TOKEN" in line for line in logged)
    assert "SECRET-TOKEN" not in repr(channels)


def test_a_client_error_is_not_retried(webhook):
    webhook.statuses = [404]
    report = send_notifications(ANOMALIES, NotifyChannels(WebhookChannel(webhook.url), retry=FAST))
    assert report.results[0].attempts == 1 and "HTTP 404" in report.error


def test_unreachable_channels_do_not_raise():
    channels = NotifyChannels(
        WebhookChannel(f"http://127.0.0.1:{free_port()}/hook", timeout=2),
        email_channel(free_port()),
        FAST,
    )
    report = send_notifications(ANOMALIES, channels)
    assert not report.delivered
    assert [(r.ok, r.attempts) for r in report.results] == [(False, 3), (False, 3)]


def test_email_login_uses_the_password_and_never_shows_it():
    seen: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        seen.append((auth_data.login, auth_data.password))
        ok = auth_data.password == b"s3cr3t-pw"
        return AuthResult(success=ok, handled=False)

    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        good = NotifyChannels(
            email=email_channel(port, user="bot", password="s3cr3t-pw"), retry=FAST
        )
        assert send_notifications(ANOMALIES, good).delivered
        bad = NotifyChannels(email=email_channel(port, user="bot", password="wrong-pw"), retry=FAST)
        report = send_notifications(ANOMALIES, bad)
    finally:
        controller.stop()
    assert len(inbox.envelopes) == 1 and seen[0] == (b"bot", b"s3cr3t-pw")
    assert report.results[0].attempts == 1 and "Authentication" in report.error
    assert "wrong-pw" not in report.error and "wrong-pw" not in repr(bad)


def test_notify_event_posts_title_text_and_link(webhook, smtp):
    inbox, port = smtp
    channels = NotifyChannels(WebhookChannel(webhook.url), email_channel(port), FAST)
    report = notify_event(
        "Run failed: daily_job", "step dbt_build failed", "http://dagster.local/runs/1", channels
    )
    assert report.delivered
    [post] = webhook.posts
    assert post["text"] == "[DataTrendz] Run failed: daily_job"
    assert "<http://dagster.local/runs/1|Open in Dagster>" in post["blocks"][1]["text"]["text"]
    [(_, message)] = inbox.envelopes
    assert "http://dagster.local/runs/1" in message.get_payload()


def test_channels_from_env():
    env = {
        "DATATRENDZ_ALERT_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X",
        "DATATRENDZ_SMTP_HOST": "smtp.example.com",
        "DATATRENDZ_SMTP_USER": "bot@example.com",
        "DATATRENDZ_SMTP_PASSWORD": "pw",
        "DATATRENDZ_ALERT_EMAIL_TO": "a@example.com, b@example.com",
    }
    channels = NotifyChannels.from_env(env)
    assert channels.configured == ["webhook", "email"]
    email = channels.email
    assert (email.port, email.starttls, email.sender) == (587, True, "bot@example.com")
    assert email.recipients == ("a@example.com", "b@example.com")
    assert "pw'" not in repr(channels) and "services" not in repr(channels)
    plain = NotifyChannels.from_env(
        {"DATATRENDZ_SMTP_HOST": "h", "DATATRENDZ_ALERT_EMAIL_TO": "a@x"}
    )
    assert plain.email.starttls is False and plain.webhook is None
    assert NotifyChannels.from_env({}).configured == []
    with pytest.raises(ValueError, match="DATATRENDZ_SMTP_PORT"):
        NotifyChannels.from_env({**env, "DATATRENDZ_SMTP_PORT": "smtp"})
    with pytest.raises(ValueError, match="DATATRENDZ_ALERT_EMAIL_TO"):
        NotifyChannels.from_env({"DATATRENDZ_SMTP_HOST": "h"})


def test_without_channels_the_run_log_is_the_delivery():
    logged: list[str] = []
    report = send_notifications(ANOMALIES, NotifyChannels(), logged.append)
    assert report.delivered and "Traffic spike" in logged[0]
    assert send_notifications([], NotifyChannels(), logged.append).results == ()
