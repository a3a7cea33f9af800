"""Every word the bot says, in Ukrainian (the default), English and Russian, in one place:
the alerts' phrase book (`PHRASES`) and the command replies (`REPLIES`). A test checks that
every language has every phrase with the same placeholders."""

from __future__ import annotations

DEFAULT_LANGUAGE = "uk"

# Plural forms: English (one, other); Ukrainian and Russian (one, few, many).
PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "overdue": "⚠️ OVERDUE",
        "escalated": "🔺 ESCALATED",
        "resolved": "✅ RESOLVED",
        "heads_up": "⏳ DEADLINE IN {wait}",
        "unanswered": "no answer at all",
        "masked_silence": "{n} {comments}, none from the developer: "
        "the topic looks handled but is not",
        "comments": "comment|comments",
        "no_diagnosis": "acknowledged by staff, no developer diagnosis",
        "follow_up_ignored": "the customer's follow-up question is unanswered",
        "reposted": "the customer asked again in a new topic: the first one got no answer",
        "first_asked": "first asked here",
        "burst": "likely outage: {n} {topics} at once; acknowledge once, publicly, for everyone",
        "silent": "🤐 Silent for {wait}: {names}",
        "waiting_only": "⏱ Waiting for {wait}",
        "status_wait": "waiting {wait}",
        "context": "The customer's last question:",
        "no_longer": "no longer flagged after {wait}",
        "burst_more": "… and {n} more {topics}",
        "in_burst": "🚨 part of a likely outage: {n} {topics} at once",
        "status_heading": "Topics with open findings: {n}",
        "status_more": "… and {n} more {topics} "
        "(forumwatch findings on the server lists every one)",
        "status_empty": "No open findings in your scope.",
        "summary": "{n} {topics} already ignored: /status lists them",
        "topics": "topic|topics",
        "units": "min|h",
        "policy": "💳 {policy} · SLA {wait}",
        "paid": "paid topic",
    },
    "uk": {
        "overdue": "⚠️ ПРОСТРОЧЕНО",
        "escalated": "🔺 ЕСКАЛАЦІЯ",
        "resolved": "✅ ВИРІШЕНО",
        "heads_up": "⏳ ДЕДЛАЙН ЧЕРЕЗ {wait}",
        "unanswered": "жодної відповіді",
        "masked_silence": "{n} {comments}, жодного від розробника: "
        "тема виглядає опрацьованою, але це не так",
        "comments": "коментар|коментарі|коментарів",
        "no_diagnosis": "персонал відповів, діагнозу від розробника немає",
        "follow_up_ignored": "уточнювальне питання клієнта без відповіді",
        "reposted": "клієнт створив тему повторно: першу залишили без відповіді",
        "first_asked": "уперше запитали тут",
        "burst": "ймовірно, збій: {n} {topics} одночасно; дайте одну публічну відповідь для всіх",
        "silent": "🤐 Мовчать уже {wait}: {names}",
        "waiting_only": "⏱ Очікує вже {wait}",
        "status_wait": "очікує {wait}",
        "context": "Останнє питання клієнта:",
        "no_longer": "більше не порушення, минуло {wait}",
        "burst_more": "… і ще {n} {topics}",
        "in_burst": "🚨 частина ймовірного збою: {n} {topics} одночасно",
        "status_heading": "Теми з відкритими порушеннями: {n}",
        "status_more": "… і ще {n} {topics} (усі показує forumwatch findings на сервері)",
        "status_empty": "У вашій зоні відповідальності немає відкритих порушень.",
        "summary": "Без відповіді вже {n} {topics}: /status покаже їх",
        "topics": "тема|теми|тем",
        "units": "хв|год",
        "policy": "💳 {policy} · SLA {wait}",
        "paid": "платна тема",
    },
    "ru": {
        "overdue": "⚠️ ПРОСРОЧЕНО",
        "escalated": "🔺 ЭСКАЛАЦИЯ",
        "resolved": "✅ РЕШЕНО",
        "heads_up": "⏳ СРОК ЧЕРЕЗ {wait}",
        "unanswered": "ответа нет вообще",
        "masked_silence": "{n} {comments}, ни одного от разработчика: "
        "тема выглядит обработанной, но это не так",
        "comments": "комментарий|комментария|комментариев",
        "no_diagnosis": "персонал ответил, диагноза от разработчика нет",
        "follow_up_ignored": "уточняющий вопрос клиента остался без ответа",
        "reposted": "клиент создал тему повторно: первую оставили без ответа",
        "first_asked": "впервые спросили здесь",
        "burst": "вероятно, сбой: {n} {topics} одновременно; дайте один публичный ответ для всех",
        "silent": "🤐 Молчат уже {wait}: {names}",
        "waiting_only": "⏱ Ждёт уже {wait}",
        "status_wait": "ждёт {wait}",
        "context": "Последний вопрос клиента:",
        "no_longer": "больше не нарушение, прошло {wait}",
        "burst_more": "… и ещё {n} {topics}",
        "in_burst": "🚨 часть вероятного сбоя: {n} {topics} одновременно",
        "status_heading": "Темы с открытыми нарушениями: {n}",
        "status_more": "… и ещё {n} {topics} (все показывает forumwatch findings на сервере)",
        "status_empty": "В вашей зоне ответственности нет открытых нарушений.",
        "summary": "Без ответа уже {n} {topics}: /status покажет их",
        "topics": "тема|темы|тем",
        "units": "мин|ч",
        "policy": "💳 {policy} · SLA {wait}",
        "paid": "платная тема",
    },
}

# The bot's replies to commands.
REPLIES: dict[str, dict[str, str]] = {
    "en": {
        "help": (
            "forumwatch tells you about forum topics nobody responsible has answered.\n"
            "/subscribe forum ID or /subscribe app ID: follow a forum or an app (partners)\n"
            "/unsubscribe [forum ID | app ID]: stop following one, or everything\n"
            "/list: what this chat follows\n/status: open findings in this chat's scope\n"
            "/mute TOPIC-LINK 3d: no messages about one topic for a while\n"
            "/help: this text"
        ),
        "not_bound": (
            "This chat is not connected to forumwatch. Ask the forumwatch admin for an invite "
            "link and open it here."
        ),
        "bad_code": "This invite code is unknown, already used or expired; ask for a new one.",
        "bound": "Connected as {role}{scope}.",
        "bound_scope": ", following {scope}",
        "admins_only": "Only this group's admins can change what it follows.",
        "partners_only": "Only partner chats choose what they follow; yours follows {scope}.",
        "usage": "Write /subscribe forum ID or /subscribe app ID.",
        "unknown_forum": "There is no forum '{ref}'. Known forums: {known}.",
        "unknown_app": "There is no app '{ref}'. Known apps: {known}.",
        "subscribed": "Following {scope}.",
        "already": "This chat already follows {scope}.",
        "unsubscribed": "Stopped following {count} scope(s).",
        "nothing": "This chat follows nothing yet: /subscribe forum ID.",
        "follows": "This chat ({role}) follows: {scopes}.",
        "unknown_command": "Unknown command. /help lists what I understand.",
        "everything": "every forum",
        "mute_usage": (
            "Write /mute followed by a topic's link on a watched forum and how long, e.g. "
            "/mute https://forum.example.com/t/some-topic/123 3d (at most 90d)."
        ),
        "muted": "No messages about {topic} to this chat until {until}.",
        "role_partner": "partner",
        "role_developer": "developer",
        "role_quality": "quality staff",
        "scope_forum": "forum {forum}",
        "scope_app": "app {app} ({forum})",
    },
    "uk": {
        "help": (
            "forumwatch повідомляє про теми форуму, на які ніхто відповідальний не відповів.\n"
            "/subscribe forum ID або /subscribe app ID: стежити за форумом чи застосунком "
            "(партнери)\n/unsubscribe [forum ID | app ID]: припинити стежити за одним або за "
            "всім\n/list: за чим стежить цей чат\n/status: відкриті порушення в межах чату\n"
            "/mute ПОСИЛАННЯ 3d: тимчасово без повідомлень про одну тему\n"
            "/help: ця довідка"
        ),
        "not_bound": (
            "Цей чат не під'єднано до forumwatch. Попросіть в адміністратора forumwatch "
            "посилання-запрошення і відкрийте його тут."
        ),
        "bad_code": "Код запрошення невідомий, уже використаний або прострочений; попросіть новий.",
        "bound": "Під'єднано як {role}{scope}.",
        "bound_scope": "; чат стежить за {scope}",
        "admins_only": "Змінювати підписки групи можуть лише її адміністратори.",
        "partners_only": "Підписки обирають лише чати партнерів; ваш чат стежить за {scope}.",
        "usage": "Напишіть /subscribe forum ID або /subscribe app ID.",
        "unknown_forum": "Форуму '{ref}' немає. Відомі форуми: {known}.",
        "unknown_app": "Застосунку '{ref}' немає. Відомі застосунки: {known}.",
        "subscribed": "Тепер чат стежить за {scope}.",
        "already": "Чат уже стежить за {scope}.",
        "unsubscribed": "Підписок скасовано: {count}.",
        "nothing": "Чат ще ні за чим не стежить: /subscribe forum ID.",
        "follows": "Цей чат ({role}) стежить за: {scopes}.",
        "unknown_command": "Невідома команда. /help перелічує, що я розумію.",
        "everything": "усіма форумами",
        "mute_usage": (
            "Напишіть /mute, посилання на тему форуму, за яким стежимо, і на скільки, напр. "
            "/mute https://forum.example.com/t/some-topic/123 3d (щонайбільше 90d)."
        ),
        "muted": "Повідомлень про {topic} у цей чат не буде до {until}.",
        "role_partner": "партнер",
        "role_developer": "розробник",
        "role_quality": "служба якості",
        "scope_forum": "форумом {forum}",
        "scope_app": "застосунком {app} ({forum})",
    },
    "ru": {
        "help": (
            "forumwatch сообщает о темах форума, на которые никто из ответственных не ответил.\n"
            "/subscribe forum ID или /subscribe app ID: следить за форумом или приложением "
            "(партнёры)\n/unsubscribe [forum ID | app ID]: перестать следить за одним или за "
            "всем\n/list: за чем следит этот чат\n/status: открытые нарушения в пределах чата\n"
            "/mute ССЫЛКА 3d: временно без сообщений об одной теме\n"
            "/help: эта справка"
        ),
        "not_bound": (
            "Этот чат не подключён к forumwatch. Попросите у администратора forumwatch "
            "ссылку-приглашение и откройте её здесь."
        ),
        "bad_code": "Код приглашения неизвестен, уже использован или истёк; попросите новый.",
        "bound": "Подключено как {role}{scope}.",
        "bound_scope": "; чат следит за {scope}",
        "admins_only": "Менять подписки группы могут только её администраторы.",
        "partners_only": "Подписки выбирают только чаты партнёров; ваш чат следит за {scope}.",
        "usage": "Напишите /subscribe forum ID или /subscribe app ID.",
        "unknown_forum": "Форума '{ref}' нет. Известные форумы: {known}.",
        "unknown_app": "Приложения '{ref}' нет. Известные приложения: {known}.",
        "subscribed": "Теперь чат следит за {scope}.",
        "already": "Чат уже следит за {scope}.",
        "unsubscribed": "Подписок отменено: {count}.",
        "nothing": "Чат пока ни за чем не следит: /subscribe forum ID.",
        "follows": "Этот чат ({role}) следит за: {scopes}.",
        "unknown_command": "Неизвестная команда. /help перечисляет, что я понимаю.",
        "everything": "всеми форумами",
        "mute_usage": (
            "Напишите /mute, ссылку на тему форума, за которым следим, и на сколько, напр. "
            "/mute https://forum.example.com/t/some-topic/123 3d (не больше 90d)."
        ),
        "muted": "Сообщений о {topic} в этот чат не будет до {until}.",
        "role_partner": "партнёр",
        "role_developer": "разработчик",
        "role_quality": "служба качества",
        "scope_forum": "форумом {forum}",
        "scope_app": "приложением {app} ({forum})",
    },
}


def phrase_book(language: str) -> dict[str, str]:
    """The phrase book of `language`; Ukrainian for a language we do not speak."""
    return PHRASES.get(language, PHRASES[DEFAULT_LANGUAGE])


def plural(n: int, forms: str, language: str) -> str:
    """The form of a noun for `n`: 'one|other' in English, 'one|few|many' in uk and ru."""
    options = forms.split("|")
    if len(options) == 2:
        return options[0] if n == 1 else options[1]
    if n % 10 == 1 and n % 100 != 11:
        return options[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return options[1]
    return options[2]
