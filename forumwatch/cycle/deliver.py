"""Delivery: each notifier sends its pending outbox rows, each marked sent at once; and the
bot's commands read at the start of a cron run.
"""

from __future__ import annotations

import threading
from datetime import datetime

from forumwatch.config.models import Config
from forumwatch.cycle.results import CycleReport
from forumwatch.notify.base import Notifier, RecipientGone
from forumwatch.store import Store


async def deliver(
    store: Store,
    active: list[Notifier],
    now: datetime,
    report: CycleReport | None = None,
    stop: threading.Event | None = None,
) -> tuple[int, list[str]]:
    """Send every pending outbox message; a failed one stays pending for the next run.

    Each message is marked sent as soon as it went out, so a crash repeats at most the one in
    flight. A failure of the channel itself (an exception whose `stops_channel` is true: a
    refused bot token) ends that channel's round at the first message, keeps them all, and is
    said once. The errors returned extend the report's `delivery_errors` (the same list: what
    reading the bot commands met stays in it, and the channel's refusal is not said twice).
    """
    sent = 0
    errors = report.delivery_errors if report is not None else []
    for notifier in active:
        try:
            pending = store.pending(notifier.channel)
            for done, message in enumerate(pending):
                if stop is not None and stop.is_set():
                    break  # the rest stay in the outbox for the next cycle
                try:
                    ref = await notifier.send(message)
                except RecipientGone as gone:
                    if report is not None:
                        report.delivery_notes.append(f"{notifier.channel}: {gone}")
                    continue
                except Exception as err:  # a notifier's failure must not stop the others
                    if getattr(err, "stops_channel", False):
                        kept = len(pending) - done
                        say_once(
                            errors,
                            f"{notifier.channel}: {err}",
                            f"{kept} message(s) kept for the next run",
                        )
                        break  # no point trying the others: they stay in the outbox
                    errors.append(f"{notifier.channel} → {message.recipient}: {err}")
                    continue
                store.mark_sent(message.id, now, ref)
                sent += 1
        finally:
            await notifier.aclose()
    return sent, errors


def say_once(errors: list[str], line: str, more: str) -> None:
    """`line; more` in `errors`, in place of `line` when it is there already (the same refusal
    met reading the bot commands): one line for one problem."""
    full = f"{line}; {more}"
    if line in errors:
        errors[errors.index(line)] = full
    else:
        errors.append(full)


async def answer_commands(store: Store, config: Config, now: datetime) -> str | None:
    """Answer the bot commands sent since the last run; an error message when Telegram failed."""
    from telegram.error import InvalidToken, TelegramError

    from forumwatch.telegram_bot.notifier import make_bot, refused_token
    from forumwatch.telegram_bot.updates import answer_updates

    assert config.telegram is not None
    bot = make_bot(config.telegram)
    try:
        async with bot:
            await answer_updates(store, config, bot, now)
    except InvalidToken as err:  # its message may quote the token: never printed
        return f"telegram: {refused_token(err, config.telegram)}"
    except TelegramError as err:
        return f"telegram: could not read bot commands ({err}); they are read next run"
    return None


def note_would_send(store: Store, active: list[Notifier], report: CycleReport) -> None:
    """Remember what a dry run's outbox holds before it is rolled back."""
    for notifier in active:
        for message in store.pending(notifier.channel):
            report.would_send.setdefault(message.id, message)
