"""Delivering a digest: one multipart/alternative email (text + HTML) over SMTP, and a short
summary with the headline figures to the quality staff's Telegram chats."""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from digests.build import SCORECARD_DAYS, Digest
from digests.render import deadline_words, title
from digests.words import Phrases
from forumwatch.config.channels import SmtpConfig


class SendError(Exception):
    """The digest could not be delivered; the message names the server and what to check."""


def digest_email(digest: Digest, html: str, text: str, smtp: SmtpConfig) -> EmailMessage:
    message = EmailMessage()
    words = Phrases(digest.language)
    ignored, escalations = digest.ignored_total, digest.escalations
    message["Subject"] = words.t(
        "subject",
        title=title(digest),
        ignored=ignored,
        topics_word=words.word("open_ignored", ignored),
        escalations=escalations,
        escalations_word=words.word("escalations", escalations),
    )
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


def digest_link(digest: Digest, url: str | None) -> str | None:
    """Where the published digest of the day is read: `<digest.url>/<YYYY-MM-DD>.html`."""
    return f"{url.rstrip('/')}/{digest.day.isoformat()}.html" if url else None


def telegram_summary(digest: Digest, url: str | None = None) -> str:
    """The headline figures in the digest's language, for the quality chats (HTML; the forum
    ids are escaped, nothing scraped is in it), linking to the published digest when `url`
    (the config's `digest.url`) says where the archive is served."""
    words = Phrases(digest.language)
    deadline = deadline_words(words, digest.acknowledge)
    share = words.percent(digest.sla_share)
    lines = [
        f"<b>📋 {html.escape(title(digest))}</b>",
        words.t("tg_new", n=digest.new_topics),
        words.t("tg_ack", deadline=deadline, days=SCORECARD_DAYS, share=share),
        words.t("tg_ignored", n=digest.ignored_total),
        words.t("tg_escalations", n=digest.escalations),
    ]
    if digest.failed_forums:
        failed = html.escape(", ".join(sorted(digest.failed_forums)))
        lines.append(words.t("tg_failed", forums=failed))
    lines.append(words.t("tg_status"))
    link = digest_link(digest, url)
    if link:
        lines.append(f'<a href="{html.escape(link)}">{html.escape(words.t("tg_link"))}</a>')
    return "\n".join(lines)
