"""Every word the digest says, in Ukrainian (the default), Russian and English, in one place.

The digest speaks the config's top-level `language`. A phrase with `|` lists plural forms:
English (one|other), Ukrainian and Russian (one|few|many); `months` and `weekdays` list the
names in order. A test checks that every language has every phrase with the same placeholders.
The helpers that use them are in digests/words.py. The rule words mirror the bot's
(forumwatch/telegram_bot/phrases.py), copied: the digest does not reach into the bot.
"""

from __future__ import annotations

DEFAULT_LANGUAGE = "uk"

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "title": "forumwatch digest for {date}",
        "months": "January|February|March|April|May|June|July|August|September|October|"
        "November|December",
        "weekdays": "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday",
        "day_end": "As the forums stood at the end of the day (midnight, {zone}).",
        "so_far": "So far today, as of {time} ({zone}): the day is not over yet.",
        "new_topics": "new topic|new topics",
        "ack_share": "acknowledged within {deadline} (topics of the last {days} days)",
        "open_ignored": "open ignored topic|open ignored topics",
        "escalations": "escalation|escalations",
        "owed_today": "{unit} owed today",
        "change": "{value} against the average of the 7 days before",
        "chart_ignored": "open ignored topics",
        "chart_share": "share acknowledged within {deadline}, last {days} days",
        "ignored_heading": "Ignored topics, longest wait first: whom to chase",
        "col_topic": "topic",
        "col_stage": "stage",
        "col_app": "app",
        "col_customer": "customer",
        "col_rule": "what is wrong",
        "col_waiting": "waiting",
        "col_silent": "silent (chase them)",
        "stage_due": "overdue",
        "stage_escalated": "escalated",
        "no_app": "forum-wide",
        "no_developer": "no developer configured",
        "staff_owe": "staff: {names}",
        "history": "history: {command}",
        "more_ignored": "and {n} more {topics}: `forumwatch findings` lists every one.",
        "topics": "topic|topics",
        "no_ignored": "No topic is being ignored.",
        "scorecards_heading": "Scorecards per app, worst first (topics of the last {days} days)",
        "col_developers": "developers",
        "col_topics": "topics",
        "col_median": "median time to the developer's answer",
        "col_p90": "90th percentile",
        "col_dev_sla": "answered by the developer within {deadline}",
        "col_open": "ignored topics now",
        "col_owed": "owed ({days} days)",
        "scorecards_note": "Time from a topic's start to the developer's first public answer; "
        "topics still waiting count with their wait so far. The headline's "
        "\u201cacknowledged\u201d counts an answer by the developer or staff within the "
        "acknowledgement deadline; a scorecard counts the developer's own answer within the "
        "diagnosis deadline.",
        "card_line": "{app} ({developers}): {topics}; median {median}, 90th percentile {p90}; "
        "answered by the developer within {deadline}: {share}; ignored topics now: {open}",
        "card_owed": "owed {amount} {unit}",
        "answered_heading": "Answered today",
        "confirmed_heading": "Confirmed by their authors",
        "closed_heading": "Closed without an answer",
        "failed_heading": "Forums that could not be read",
        "none": "None.",
        "none_text": "(none)",
        "all_read": "Every forum was read.",
        "failed_runs": "{n} failed {runs}",
        "runs": "run|runs",
        "units": "min|h",
        "sla": "the SLA",
        "rule_unanswered": "no answer at all",
        "rule_masked_silence": "silence masked by other people's comments",
        "rule_no_diagnosis": "acknowledged by staff, no developer diagnosis",
        "rule_follow_up_ignored": "the customer's follow-up question is unanswered",
        "rule_reposted": "re-posted after the first topic got no answer",
        "rule_burst": "likely outage: many customers at once",
        "archive": "forumwatch digests",
        "text_version": "text",
        "subject": "{title}: {ignored} {topics_word}, {escalations} {escalations_word}",
        "tg_new": "New topics: {n}",
        "tg_ack": "Acknowledged within {deadline} (last {days} days): {share}",
        "tg_ignored": "Open ignored topics: {n}",
        "tg_escalations": "Escalations: {n}",
        "tg_failed": "Forums that could not be read: {forums}",
        "tg_status": "/status lists the ignored topics",
        "tg_link": "The whole digest",
    },
    "uk": {
        "title": "Дайджест forumwatch за {date}",
        "months": "січня|лютого|березня|квітня|травня|червня|липня|серпня|вересня|жовтня|"
        "листопада|грудня",
        "weekdays": "понеділок|вівторок|середа|четвер|пʼятниця|субота|неділя",
        "day_end": "Стан форумів на кінець дня (опівночі, {zone}).",
        "so_far": "Поки що за сьогодні, станом на {time} ({zone}): день ще не скінчився.",
        "new_topics": "нова тема|нові теми|нових тем",
        "ack_share": "тем отримали відповідь протягом {deadline} (за останні {days} днів)",
        "open_ignored": "ігнорована тема|ігноровані теми|ігнорованих тем",
        "escalations": "ескалація|ескалації|ескалацій",
        "owed_today": "{unit}: нараховано сьогодні",
        "change": "{value} порівняно із середнім за попередні 7 днів",
        "chart_ignored": "ігноровані теми",
        "chart_share": "частка з відповіддю протягом {deadline}, останні {days} днів",
        "ignored_heading": "Ігноровані теми, найдовше очікування першим: кого підганяти",
        "col_topic": "тема",
        "col_stage": "стадія",
        "col_app": "застосунок",
        "col_customer": "клієнт",
        "col_rule": "що не так",
        "col_waiting": "очікує",
        "col_silent": "мовчать (кого підганяти)",
        "stage_due": "прострочено",
        "stage_escalated": "ескалація",
        "no_app": "увесь форум",
        "no_developer": "розробника не вказано",
        "staff_owe": "персонал: {names}",
        "history": "історія: {command}",
        "more_ignored": "і ще {n} {topics}: `forumwatch findings` покаже всі.",
        "topics": "тема|теми|тем",
        "no_ignored": "Жодну тему не ігнорують.",
        "scorecards_heading": "Показники застосунків, найгірші першими "
        "(теми за останні {days} днів)",
        "col_developers": "розробники",
        "col_topics": "теми",
        "col_median": "медіана часу до відповіді розробника",
        "col_p90": "90-й перцентиль",
        "col_dev_sla": "розробник відповів протягом {deadline}",
        "col_open": "ігноровані теми зараз",
        "col_owed": "нараховано ({days} днів)",
        "scorecards_note": "Час від початку теми до першої публічної відповіді розробника; "
        "теми, що досі чекають, враховано з їхнім очікуванням на цей момент. «Відповідь» у "
        "головних цифрах — відповідь розробника або персоналу до строку підтвердження; "
        "у показниках — власна відповідь розробника до строку діагнозу.",
        "card_line": "{app} ({developers}): {topics}; медіана {median}, 90-й перцентиль {p90}; "
        "розробник відповів протягом {deadline}: {share}; ігноровані теми зараз: {open}",
        "card_owed": "нараховано {amount} {unit}",
        "answered_heading": "Отримали відповідь сьогодні",
        "confirmed_heading": "Підтверджено авторами",
        "closed_heading": "Закрито без відповіді",
        "failed_heading": "Форуми, які не вдалося прочитати",
        "none": "Немає.",
        "none_text": "(немає)",
        "all_read": "Усі форуми прочитано.",
        "failed_runs": "{n} {runs} з помилкою",
        "runs": "запуск|запуски|запусків",
        "units": "хв|год",
        "sla": "SLA",
        "rule_unanswered": "жодної відповіді",
        "rule_masked_silence": "мовчання приховане коментарями інших",
        "rule_no_diagnosis": "персонал відповів, діагнозу від розробника немає",
        "rule_follow_up_ignored": "уточнювальне питання клієнта без відповіді",
        "rule_reposted": "клієнт створив тему повторно: першу залишили без відповіді",
        "rule_burst": "ймовірно, збій: багато клієнтів одночасно",
        "archive": "Дайджести forumwatch",
        "text_version": "текст",
        "subject": "{title}: {ignored} {topics_word}, {escalations} {escalations_word}",
        "tg_new": "Нові теми: {n}",
        "tg_ack": "Відповідь протягом {deadline} (останні {days} днів): {share}",
        "tg_ignored": "Ігноровані теми: {n}",
        "tg_escalations": "Ескалації: {n}",
        "tg_failed": "Форуми, які не вдалося прочитати: {forums}",
        "tg_status": "/status покаже ігноровані теми",
        "tg_link": "Увесь дайджест",
    },
    "ru": {
        "title": "Дайджест forumwatch за {date}",
        "months": "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|"
        "ноября|декабря",
        "weekdays": "понедельник|вторник|среда|четверг|пятница|суббота|воскресенье",
        "day_end": "Состояние форумов на конец дня (в полночь, {zone}).",
        "so_far": "Пока за сегодня, по состоянию на {time} ({zone}): день ещё не закончился.",
        "new_topics": "новая тема|новые темы|новых тем",
        "ack_share": "тем получили ответ в течение {deadline} (за последние {days} дней)",
        "open_ignored": "игнорируемая тема|игнорируемые темы|игнорируемых тем",
        "escalations": "эскалация|эскалации|эскалаций",
        "owed_today": "{unit}: начислено сегодня",
        "change": "{value} по сравнению со средним за предыдущие 7 дней",
        "chart_ignored": "игнорируемые темы",
        "chart_share": "доля с ответом в течение {deadline}, последние {days} дней",
        "ignored_heading": "Игнорируемые темы, самое долгое ожидание первым: кого торопить",
        "col_topic": "тема",
        "col_stage": "стадия",
        "col_app": "приложение",
        "col_customer": "клиент",
        "col_rule": "что не так",
        "col_waiting": "ждёт",
        "col_silent": "молчат (кого торопить)",
        "stage_due": "просрочено",
        "stage_escalated": "эскалация",
        "no_app": "весь форум",
        "no_developer": "разработчик не указан",
        "staff_owe": "персонал: {names}",
        "history": "история: {command}",
        "more_ignored": "и ещё {n} {topics}: `forumwatch findings` покажет все.",
        "topics": "тема|темы|тем",
        "no_ignored": "Ни одну тему не игнорируют.",
        "scorecards_heading": "Показатели приложений, худшие первыми "
        "(темы за последние {days} дней)",
        "col_developers": "разработчики",
        "col_topics": "темы",
        "col_median": "медиана времени до ответа разработчика",
        "col_p90": "90-й перцентиль",
        "col_dev_sla": "разработчик ответил в течение {deadline}",
        "col_open": "игнорируемые темы сейчас",
        "col_owed": "начислено ({days} дней)",
        "scorecards_note": "Время от начала темы до первого публичного ответа разработчика; "
        "темы, которые всё ещё ждут, учтены с их ожиданием на этот момент. «Ответ» в "
        "главных цифрах — ответ разработчика или персонала до срока подтверждения; "
        "в показателях — собственный ответ разработчика до срока диагноза.",
        "card_line": "{app} ({developers}): {topics}; медиана {median}, 90-й перцентиль {p90}; "
        "разработчик ответил в течение {deadline}: {share}; игнорируемые темы сейчас: {open}",
        "card_owed": "начислено {amount} {unit}",
        "answered_heading": "Получили ответ сегодня",
        "confirmed_heading": "Подтверждено авторами",
        "closed_heading": "Закрыто без ответа",
        "failed_heading": "Форумы, которые не удалось прочитать",
        "none": "Нет.",
        "none_text": "(нет)",
        "all_read": "Все форумы прочитаны.",
        "failed_runs": "{n} {runs} с ошибкой",
        "runs": "запуск|запуска|запусков",
        "units": "мин|ч",
        "sla": "SLA",
        "rule_unanswered": "ответа нет вообще",
        "rule_masked_silence": "молчание скрыто комментариями других",
        "rule_no_diagnosis": "персонал ответил, диагноза от разработчика нет",
        "rule_follow_up_ignored": "уточняющий вопрос клиента остался без ответа",
        "rule_reposted": "клиент создал тему повторно: первую оставили без ответа",
        "rule_burst": "вероятно, сбой: много клиентов одновременно",
        "archive": "Дайджесты forumwatch",
        "text_version": "текст",
        "subject": "{title}: {ignored} {topics_word}, {escalations} {escalations_word}",
        "tg_new": "Новые темы: {n}",
        "tg_ack": "Ответ в течение {deadline} (последние {days} дней): {share}",
        "tg_ignored": "Игнорируемые темы: {n}",
        "tg_escalations": "Эскалации: {n}",
        "tg_failed": "Форумы, которые не удалось прочитать: {forums}",
        "tg_status": "/status покажет игнорируемые темы",
        "tg_link": "Весь дайджест",
    },
}

LANGUAGES = tuple(PHRASES)


def book(language: str) -> dict[str, str]:
    """The phrases of `language`; Ukrainian for a language the digest does not speak."""
    return PHRASES.get(language, PHRASES[DEFAULT_LANGUAGE])


def plural(n: float, forms: str) -> str:
    """The form of a noun for `n`: 'one|other' in English, 'one|few|many' in uk and ru."""
    options = forms.split("|")
    if len(options) == 1:
        return forms
    whole = int(n)
    if whole != n:  # a fraction: the "few" form in uk and ru, "other" in English
        return options[1]
    if len(options) == 2:
        return options[0] if whole == 1 else options[1]
    if whole % 10 == 1 and whole % 100 != 11:
        return options[0]
    if 2 <= whole % 10 <= 4 and not 12 <= whole % 100 <= 14:
        return options[1]
    return options[2]
