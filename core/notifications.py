"""``ratings:notifications``: who hears about the stack's alarms (email addresses, an HTTPS webhook).

Parsed with the rest of the stack config (core/config.py); the program turns it into one
SNS topic with a subscription per address and per webhook (components/notifications.py).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

from core.fields import Secret, Section, describe, secret_of

# Loose on purpose: SNS sends a confirmation message, which is the real check of an address.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
# SNS "https" protocol: the endpoint is a URL beginning with https:// (SNS Subscribe API reference).
WEBHOOK = re.compile(r"https://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?")

MSG_NOTHING_TO_NOTIFY = ("notifications: name at least one address under emails or a webhook, "
                         "or remove ratings:notifications")
MSG_EMAILS_NOT_LIST = "notifications.emails: expected a list of email addresses, got {got}"
MSG_EMAIL = "notifications.emails[{index}]: {value!r} is not an email address; write it as name@example.com"
MSG_EMAIL_TWICE = "notifications.emails[{index}]: {value!r} is listed more than once; list each address once"
MSG_WEBHOOK = ("notifications.webhook: {value!r} is not an https:// URL; SNS delivers alarms only to "
               "HTTPS endpoints that confirm the subscription")


class Protocol:
    """SNS subscription protocols the stack uses (SNS Subscribe API reference, Protocol)."""

    EMAIL = "email"
    HTTPS = "https"


@dataclass(frozen=True)
class Subscription:
    protocol: str
    endpoint: str

    @property
    def key(self) -> str:
        """A short stable id: a subscription's logical name must not move when the list is reordered."""
        return hashlib.sha256(f"{self.protocol}:{self.endpoint}".encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Notifications:
    emails: tuple[str, ...] = ()
    webhook: str | None = None  # often a Secret: a webhook URL usually carries its token
    sealed: bool = False  # the whole section is a Pulumi secret: only `pulumi up` reads it

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        webhook = (Subscription(Protocol.HTTPS, self.webhook),) if self.webhook else ()
        return tuple(Subscription(Protocol.EMAIL, email) for email in self.emails) + webhook


def parse_notifications(section: Section | None) -> Notifications | None:
    """None when the section is absent: no topic, alarms without actions."""
    if section is None:
        return None
    section.check_known(("emails", "webhook"))
    emails = _emails(section)
    webhook = section.text("webhook", None, secret=True)
    if webhook is not None and not isinstance(webhook, Secret) and not WEBHOOK.fullmatch(webhook):
        section.problem(MSG_WEBHOOK.format(value=webhook))
    if not section.raw.get("emails") and section.raw.get("webhook") is None and not section.broken:
        section.problem(MSG_NOTHING_TO_NOTIFY)  # only when nothing at all was named: one message per mistake
    return Notifications(tuple(emails), webhook)


def _emails(section: Section) -> list[str]:
    raw = section.raw.get("emails")
    if raw is None:
        return []
    if not isinstance(raw, list):
        section.problem(MSG_EMAILS_NOT_LIST.format(got=describe(raw)))
        return []
    valid: list[str] = []
    for index, value in enumerate(raw):
        sealed = secret_of(value)
        if sealed is not None:
            valid.append(sealed)
        elif not isinstance(value, str) or not EMAIL.fullmatch(value):
            section.problem(MSG_EMAIL.format(index=index, value=value))
        else:
            valid.append(value)
    for value, count in Counter(valid).items():
        if count > 1:
            section.problem(MSG_EMAIL_TWICE.format(index=len(raw) - 1 - raw[::-1].index(value), value=value))
    return list(dict.fromkeys(valid))
