"""Delivering a digest: one multipart/alternative email (text + HTML) over SMTP, and a short
summary with the headline figures to the quality staff's Telegram chats."""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from digests.build import Digest
from forumwatch.config.models import SmtpConfig


class SendError(Exception):
    """The digest could not be delivered; the message names the server and what to check."""


def digest_email(digest: Digest, html: str, text: str, smtp: SmtpConfig) -> EmailMessage:
    message = EmailMessage()
    ignored, escalations = digest.ignored_total, digest.escalations
    message["Subject"] = f"{digest.title}: {ignored} ignored topic(s), {escalations} escalation(s)"
    message["From"] = smtp.sender
    message["To"] = ", ".join(smtp.to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="forumwatch")
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send_email(message: EmailMessage, smtp: SmtpConfig) -> None:
    """Send over SMTP (implicit TLS, STARTTLS or plain, as configured); SendError on failure."""
    where = f"{smtp.host}:{smtp.port}"
    timeout = smtp.timeout.total_seconds()
    try:
        if smtp.ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            if smtp.starttls and not smtp.ssl:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise SendError(
            f"SMTP {where} refused the login; check smtp.username and smtp.password"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise SendError(
            f"SMTP {where} does not offer STARTTLS; set smtp.starttls: false only if the "
            "network to it is trusted, or use smtp.ssl with port 465"
        ) from None
    except (smtplib.SMTPException, OSError) as err:
        raise SendError(
            f"SMTP {where} failed ({type(err).__name__}: {err}); check smtp.host/port and "
            "that the server accepts mail from smtp.from to smtp.to"
        ) from None


def telegram_summary(digest: Digest) -> str:
    """The headline figures, for the quality chats (HTML, nothing scraped in it)."""
    share = "–" if digest.sla_share is None else f"{digest.sla_share:.0%}"
    lines = [
        f"<b>📋 {digest.title}</b>",
        f"New topics: {digest.new_topics}",
        f"Acknowledged within SLA (30 days): {share}",
        f"Open ignored topics: {digest.ignored_total}",
        f"Escalations: {digest.escalations}",
    ]
    if digest.failed_forums:
        failed = html.escape(", ".join(sorted(digest.failed_forums)))
        lines.append(f"Forums that could not be read: {failed}")
    lines.append("/status lists the ignored topics")
    return "\n".join(lines)
