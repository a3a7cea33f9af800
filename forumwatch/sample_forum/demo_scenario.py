"""The demo's marketplace forum: one topic for each way silence happens, and some that are fine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from forumwatch.sample_forum.scenario import (
    SMALL_ACTION,
    WHISPER,
    SampleCategory,
    SampleForum,
    SamplePost,
    SampleTopic,
)

DEVELOPER, VENDOR, STAFF = "dev_ivan", "vendor_petro", "anna_quality"
CONFIRMED_TOPIC, LOOK_ALIKE_TOPIC = "112", "113"  # closing words; a thanks that still waits
PAID_TOPIC = "115"  # a paid topic: late on the paid SLA policy's 30 min, fine on the default 2 h
DEMO_CONFIG = """\
# forumwatch demo config: written by `forumwatch demo`, pointing at its loopback forum.
database: {database}
sla: {{acknowledge: 2h, diagnose: 24h, follow_up: 24h}}
notify: {{console: false}}
forums:
  - id: market
    engine: discourse
    url: {url}
    developers: [{developer}]
    staff: [{staff}]
    requests_per_second: 20
    apps:
      - {{id: signed-files, categories: [signed-files], developers: [{vendor}]}}
sla_policies:  # a customer who paid for priority gets a tighter clock
  - name: paid
    match: {{tags: [paid, платна-тема]}}
    acknowledge: 30m
    diagnose: 4h
    follow_up: 4h
    escalate_after: 1h
"""


def demo_forum(now: datetime, *, lifecycle: bool = True) -> SampleForum:
    """Topics dated relative to `now`, so the demo shows the same picture whenever it runs.

    The nine classic topics show each way silence happens; `lifecycle` adds what customers do
    about it: a customer's own "thanks, it works" that ends a wait (beside a thanks that does
    not), a re-post of an ignored topic, and a burst of topics when an app breaks.
    """

    def ago(hours: float) -> datetime:
        return now - timedelta(hours=hours)

    def post(user: str, hours: float, body: str, **extra: object) -> SamplePost:
        return SamplePost(user, ago(hours), body, **extra)  # type: ignore[arg-type]

    long_topic = [post("roman_it", 60, "Інтеграція з банком: покроковий опис проблеми")]
    long_topic += [
        post(f"customer_{n}", 59 - n, f"У нас те саме, варіант {n}") for n in range(2, 23)
    ]
    long_topic += [
        post(DEVELOPER, 30, "Причина знайдена: виправлено у версії 3.2.1", reply_to=1),
        post("roman_it", 3, "Дякую, оновили, перевіряємо"),
        post("customer_7", 2, "У нас після оновлення працює"),
    ]
    topics = [
        SampleTopic(
            101,
            "Звіт не формується після оновлення",
            [
                post("olena_buh", 5, "Після оновлення 3.2 звіт ПДВ не формується, помилка 500."),
            ],
        ),
        SampleTopic(
            102,
            "Підпис файлів не проходить з новим ключем",
            [
                post("taras_fop", 30, "Новий ключ КЕП, підпис падає з помилкою сертифіката."),
                post("integrator_max", 20, "У нашого клієнта так само, чекаємо відповіді."),
                post("taras_fop", 3, "Ще актуально?"),
            ],
            category_id=7,
        ),
        SampleTopic(
            103,
            "Помилка експорту в XML",
            [
                post("ksenia_k", 28, "Експорт у XML обривається на 40%."),
                post(STAFF, 27, "Дякуємо, передали розробнику.", staff=True, moderator=True),
            ],
        ),
        SampleTopic(
            104,
            "Як налаштувати розклад синхронізації?",
            [
                post("bohdan_s", 50, "Де задати розклад синхронізації з сайтом?"),
                post(DEVELOPER, 49, "Розділ Налаштування → Обмін → Розклад.", reply_to=1),
                post("bohdan_s", 26, "Зробив так, але синхронізація не запускається вночі."),
            ],
        ),
        SampleTopic(
            105,
            "Не оновлюються залишки після обміну",
            [
                post("iryna_m", 6, "Залишки на складі не змінюються після обміну."),
                post(DEVELOPER, 5, "Перевірте журнал обміну", post_type=WHISPER),
            ],
        ),
        SampleTopic(
            106,
            "Друк етикеток: зсув на 2 мм",
            [
                post("oleh_print", 10, "Етикетки друкуються зі зсувом."),
                post(DEVELOPER, 9, "Виправлено у 3.2.2, оновіть, будь ласка.", reply_to=1),
            ],
        ),
        SampleTopic(
            107,
            "Старе питання про ліцензію",
            [
                post("anon_user", 80, "Як продовжити ліцензію?"),
                post(
                    STAFF, 70, "", post_type=SMALL_ACTION, action_code="closed.enabled", staff=True
                ),
            ],
            closed=True,
        ),
        SampleTopic(108, "Інтеграція з банком: виписки дублюються", long_topic),
        SampleTopic(
            109,
            "Вийшла версія 3.2.2",
            [
                post(DEVELOPER, 8, "Що нового у 3.2.2: виправлення друку та обміну."),
            ],
        ),
    ]
    if lifecycle:
        topics += _lifecycle_topics(post)
    return SampleForum(
        topics=topics,
        categories=[
            SampleCategory(1, "uncategorized", "Загальне"),
            SampleCategory(7, "signed-files", "Signed Files"),
        ],
        page_size=4,  # small pages, so the demo also pages through the topic list
    )


def _lifecycle_topics(post: Callable[..., SamplePost]) -> list[SampleTopic]:
    """Closing words (112: the author confirmed an integrator's answer; 113: thanks, but a
    problem remains), a paid topic (115: 40 min unanswered, late on the demo's paid policy), a
    re-post (120 met silence, so its author asked again in 121) and a burst (130-132: the
    signed-files app broke for three customers within an hour)."""
    return [
        SampleTopic(  # the customer paid for priority: 30 min to acknowledge, not 2 h
            int(PAID_TOPIC),
            "Платна консультація: не формується податкова накладна",
            [post("buh_service", 2 / 3, "Оплатили платну тему. Податкова накладна не формується.")],
            tags=["платна-тема"],
        ),
        SampleTopic(  # an integrator answered and the author confirmed: nobody owes anything
            112,
            "Не друкується акт звірки",
            [
                post("svitlana_acc", 40, "Акт звірки не друкується, порожній аркуш."),
                post("integrator_oleg", 38, "Вимкніть «друк через PDF» у налаштуваннях друку."),
                post("svitlana_acc", 36, "Дякую, все запрацювало! 🙏"),
            ],
        ),
        SampleTopic(  # thanks, but a problem remains: the follow-up still waits
            113,
            "Звіт по контрагентах після оновлення",
            [
                post("pavlo_opt", 50, "Після оновлення звіт по контрагентах не відкривається."),
                post(DEVELOPER, 48, "Оновіть модуль звітів до 3.2.1.", reply_to=1),
                post("pavlo_opt", 30, "Дякую, але тепер звіт порожній"),
            ],
        ),
        SampleTopic(
            120,
            "Оплата карткою не проходить",
            [
                post("maria_shop", 80, "Оплата карткою на сайті не проходить, помилка 3DS."),
                post("integrator_max", 75, "Підтверджую, у двох наших клієнтів так само."),
            ],
        ),
        SampleTopic(
            121,
            "Оплата карткою не проходить!",
            [
                post(
                    "maria_shop",
                    4,
                    "Питаю вдруге, бо в /t/oplata-kartkoyu/120 ніхто не відповів: оплата досі "
                    "не проходить.",
                ),
            ],
        ),
        *[
            SampleTopic(
                130 + n,
                title,
                [post(customer, hours, body)],
                category_id=7,
            )
            for n, (customer, hours, title, body) in enumerate(
                [
                    ("fop_kovalenko", 3.0, "Підпис не працює", "Після оновлення підпис зависає."),
                    ("lviv_pharm", 2.6, "Signed Files: помилка 502", "Підпис повертає 502."),
                    ("agro_dnipro", 2.2, "Не підписуються накладні", "Жодна накладна не йде."),
                ]
            )
        ],
    ]
