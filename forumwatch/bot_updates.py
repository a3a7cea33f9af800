"""Reading the bot's pending updates (getUpdates from a stored offset) and answering them.

Cron mode calls `answer_updates` at the start of every run: no command is lost between runs, and
because the offset is stored after each update is handled, none is handled twice.
"""

from __future__ import annotations

from datetime import datetime

from telegram import Bot, Message
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError

from forumwatch.bot import CHANGING, Incoming, handle
from forumwatch.config import Config
from forumwatch.store import Store

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
            if update.message is not None and update.message.text:
                await _answer(store, config, bot, update.message, now)
            store.set_bot_offset(update.update_id + 1)
            handled += 1
    return handled


async def _answer(store: Store, config: Config, bot: Bot, message: Message, now: datetime) -> None:
    text = message.text or ""
    if not text.startswith("/"):
        return  # the bot only answers commands; chatter in a group is none of its business
    chat = message.chat
    is_group = chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
    from_admin = True
    if is_group and text.split()[0].split("@")[0].lower() in CHANGING:
        from_admin = await _is_admin(bot, chat.id, message.from_user.id if message.from_user else 0)
    incoming = Incoming(chat.id, text, chat.title or chat.username or "", is_group, from_admin)
    for reply in handle(store, config, incoming, now):
        try:
            await bot.send_message(chat.id, reply, parse_mode=ParseMode.HTML)
        except TelegramError:
            continue  # a reply that cannot go out is not worth failing the run for


async def _is_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    return member.status in _ADMINS
