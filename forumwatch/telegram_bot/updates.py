"""Reading the bot's pending updates (getUpdates from a stored offset) and answering them.

Cron mode calls `answer_updates` at the start of every run: no command is lost between runs,
and none is handled twice, even when a run is killed. A command that changes something
(`CHANGING`) is handled in one store transaction with the update offset that marks it done:
both are stored or neither. Its reply goes out only after that commit, so a run killed in
between can lose (or Telegram repeat) only the reply in flight, never redo the effect: a
partner's `/start CODE` is not answered "invite already used" the next run.
"""

from __future__ import annotations

from datetime import datetime

from telegram import Bot, Message, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError

from forumwatch.config.models import Config
from forumwatch.store import Store
from forumwatch.telegram_bot.commands import CHANGING, Incoming, command_of, handle

MAX_UPDATES_PER_RUN = 1000  # a backlog larger than this is read on by the next run
_ADMINS = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


async def answer_updates(store: Store, config: Config, bot: Bot, now: datetime) -> int:
    """Handle every pending command; returns how many updates were read."""
    handled = 0
    while handled < MAX_UPDATES_PER_RUN:
        updates = await bot.get_updates(
            offset=store.bot_offset() or None, timeout=0, allowed_updates=["message"]
        )
        if not updates:
            break
        for update in updates:
            await _answer(store, config, bot, update, now)
            handled += 1
    return handled


async def _answer(store: Store, config: Config, bot: Bot, update: Update, now: datetime) -> None:
    """Handle one update and store its offset, then reply."""
    incoming = await _incoming(bot, update.message)  # asks Telegram: before any lock is held
    replies = _handle(store, config, incoming, update.update_id + 1, now)
    if incoming is not None:
        await _reply(bot, incoming.chat_id, replies)


def _handle(
    store: Store, config: Config, incoming: Incoming | None, offset: int, now: datetime
) -> list[str]:
    """The replies, with the command's effect and the next offset committed together.

    A command that only reads (/status, /list, /help) takes no write lock while it reads: its
    offset is stored after it, alone, since there is no effect to repeat."""
    if incoming is None:
        store.set_bot_offset(offset)
        return []
    if command_of(incoming.text) not in CHANGING:
        replies = handle(store, config, incoming, now)
        store.set_bot_offset(offset)
        return replies
    with store.transaction():
        replies = handle(store, config, incoming, now)
        store.set_bot_offset(offset)
    return replies


async def _incoming(bot: Bot, message: Message | None) -> Incoming | None:
    """The command in `message` as `handle` reads it; None for anything but a command (the
    bot only answers commands: chatter in a group is none of its business)."""
    text = (message.text or "") if message is not None else ""
    if message is None or not text.startswith("/"):
        return None
    chat = message.chat
    is_group = chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
    from_admin = True
    if is_group and command_of(text) in CHANGING:
        from_admin = await _is_admin(bot, chat.id, message.from_user.id if message.from_user else 0)
    return Incoming(chat.id, text, chat.title or chat.username or "", is_group, from_admin)


async def _reply(bot: Bot, chat_id: int, replies: list[str]) -> None:
    for reply in replies:
        try:
            await bot.send_message(chat_id, reply, parse_mode=ParseMode.HTML)
        except TelegramError:
            continue  # a reply that cannot go out is not worth failing the run for


async def _is_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    return member.status in _ADMINS
