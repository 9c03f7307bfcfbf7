"""Alert messages: one subject, a plain-text body and a Slack payload, grouped by severity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from datatrendz_pipelines.alerting.anomaly import SEVERITIES, Anomaly

PRODUCT = "DataTrendz"
MAX_ITEMS_PER_SEVERITY = 25
SLACK_SECTION_LIMIT = 3000  # characters of one section block's text
SLACK_HEADER_LIMIT = 150
ICONS = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":large_blue_circle:",
}


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn gives meaning to."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line(a: Anomaly) -> str:
    return f"[{a.rule}] {a.entity} {a.day}: {a.message}"


def format_message(
    anomalies: Sequence[Anomaly], max_items: int = MAX_ITEMS_PER_SEVERITY
) -> tuple[str, str, dict[str, Any]]:
    """(subject, text, slack_payload) for `anomalies`, most severe group first, at most
    `max_items` lines per severity (the rest counted, all kept in meta.alerts). The Slack
    payload is {"text": fallback, "blocks": [...]} as an incoming webhook accepts it."""
    groups = {s: [a for a in anomalies if a.severity == s] for s in SEVERITIES}
    counts = ", ".join(f"{len(g)} {s}" for s, g in groups.items() if g)
    days = sorted({a.day for a in anomalies})
    span = (
        "" if not days else f" for {days[0]}" if len(days) == 1 else f" for {days[0]}..{days[-1]}"
    )
    subject = f"[{PRODUCT}] {len(anomalies)} alert{'s' * (len(anomalies) != 1)}{span}: {counts}"
    text_parts = [subject, ""]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(subject, SLACK_HEADER_LIMIT)},
        }
    ]
    for severity, group in groups.items():
        if not group:
            continue
        shown = sorted(group, key=lambda a: (a.day, a.rule, a.entity))[:max_items]
        more = len(group) - len(shown)
        tail = [f"... and {more} more (see meta.alerts)"] if more else []
        text_parts += [f"{severity.upper()} ({len(group)})"]
        text_parts += [f"- {_line(a)}" for a in shown] + tail + [""]
        lines = [f"{ICONS[severity]} *{severity.upper()}* ({len(group)})"]
        lines += [f"• {slack_escape(_line(a))}" for a in shown] + [f"_{t}_" for t in tail]
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _clip("\n".join(lines), SLACK_SECTION_LIMIT)},
            }
        )
    text = "\n".join(text_parts).rstrip() + "\n"
    return subject, text, {"text": subject, "blocks": blocks}


def format_event(title: str, text: str, link: str | None) -> tuple[str, str, dict[str, Any]]:
    """(subject, text, slack_payload) of a generic event (run failure, failed check, missed
    freshness)."""
    subject = f"[{PRODUCT}] {title}"
    body = text + (f"\n\n{link}" if link else "")
    section = slack_escape(text) + (f"\n<{link}|Open in Dagster>" if link else "")
    payload = {
        "text": subject,
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": _clip(subject, SLACK_HEADER_LIMIT)},
            },
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _clip(section, SLACK_SECTION_LIMIT)},
            },
        ],
    }
    return subject, body.rstrip() + "\n", payload
