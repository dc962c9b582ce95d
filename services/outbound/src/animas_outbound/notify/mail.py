"""Notification mail over SMTP (the standard library's smtplib, in a worker thread)."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from animas_outbound.notify.adapters import Notification, PermanentSendError, RetryableSendError, scrub


@dataclasses.dataclass(frozen=True)
class EmailAdapter:
    """Sends one mail per notification; its Message-ID carries the idempotency key."""

    host: str
    port: int
    sender: str
    to: tuple[str, ...]
    starttls: bool = True
    user: str | None = None
    password: str | None = None
    timeout_s: float = 10.0

    async def send(self, notification: Notification, idempotency_key: str) -> None:
        message = EmailMessage()
        message["Subject"] = f"[{notification.anima}] {notification.subject}"
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Date"] = formatdate(notification.ts.timestamp())
        message["Message-ID"] = f"<{idempotency_key}@animaworks>"
        message["X-Priority"] = {"low": "5", "normal": "3", "high": "2", "urgent": "1"}[notification.priority]
        message.set_content(notification.body)
        try:
            await asyncio.to_thread(self._deliver, message)
        except smtplib.SMTPResponseException as exc:
            reason = scrub(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", [self.password])
            if exc.smtp_code >= 500:
                raise PermanentSendError(reason) from None
            raise RetryableSendError(reason) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentSendError(f"recipients refused: {sorted(exc.recipients)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise RetryableSendError(scrub(f"{type(exc).__name__}: {exc}", [self.password])) from None

    def _deliver(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.password:
                smtp.login(self.user or self.sender, self.password)
            smtp.send_message(message)
