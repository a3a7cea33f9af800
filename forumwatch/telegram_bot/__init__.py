"""Everything Telegram: the notifier (outbox rows to chats), the bot's commands and how their
updates are read, and the words of every message in uk, en and ru. The rest of forumwatch
reaches it only through the notifier registry (forumwatch.notify) and the commands."""
