"""A post's text leaves quoted material out: Discourse's `cooked`, Misago's `content` and HTML
profiles' post bodies. A quoted answer's "?" or "error" must not make the author's thanks read
as a question, nor a long quote push the author's words past the excerpt."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from rules.closing import read_post
from scrapers import discourse_parse, misago_parse
from scrapers.base import EXCERPT_CHARS
from scrapers.discourse_parse import Where
from scrapers.text import html_excerpt
from tests.hostile_server import HostileServer
from tests.html_site import site
from tests.test_html_scraper import classic_pages, read_all

FIXTURES = Path(__file__).parent / "fixtures"


def discourse_quote(username: str, body: str) -> str:
    """A quote as Discourse cooks `[quote="username, post:1, topic:7"]`."""
    return (
        f'<aside class="quote no-group" data-username="{username}" data-post="1" data-topic="7">\n'
        '<div class="title">\n<div class="quote-controls"></div>\n'
        f'<img alt="" width="24" height="24" src="/a.png" class="avatar"> {username}:</div>\n'
        f"<blockquote>\n{body}\n</blockquote>\n</aside>\n"
    )


def misago_quote(author: str, body: str) -> str:
    """A quote as Misago 0.39 renders `[quote="@author"]` (its markup's test snapshots)."""
    return (
        '<aside class="quote-block">\n'
        f'<div class="quote-heading" data-noquote="1">{author}</div>\n'
        f'<blockquote class="quote-body" data-author="{author}" data-block="quote">\n'
        f"{body}\n</blockquote>\n</aside>\n"
    )


def test_a_discourse_quote_is_dropped_with_its_title() -> None:
    cooked = discourse_quote("dev_olena", "<p>Спробуйте оновити модуль?</p>")
    assert html_excerpt(cooked + "<p>Дякую, допомогло!</p>") == "Дякую, допомогло!"
    assert html_excerpt("<p>Ось:</p>\n" + cooked + "<p>Дякую!</p>") == "Ось:\nДякую!"


def test_a_plain_blockquote_is_dropped() -> None:
    assert html_excerpt("<blockquote><p>error 42?</p></blockquote>\n<p>Thanks!</p>") == "Thanks!"
    # inline, the quote still parts the words around it
    assert html_excerpt("before<blockquote>q</blockquote>after") == "before\nafter"


def test_nested_quotes_leave_no_tail() -> None:
    inner = discourse_quote("client_ivan", "<p>Помилка E42?</p>")
    outer = discourse_quote("dev_olena", f"<p>Оновіть модуль.</p>\n{inner}<p>Чи так?</p>")
    assert html_excerpt(outer + "<p>Дякую, запрацювало!</p>") == "Дякую, запрацювало!"
    nested = "<blockquote>a<blockquote>b</blockquote>c<blockquote>d</blockquote>e</blockquote>ok"
    assert html_excerpt(nested) == "ok"
    mixed = "<blockquote>a<aside class='onebox'>b<blockquote>c</blockquote></aside>d</blockquote>z"
    assert html_excerpt(mixed) == "z"


def test_an_unterminated_quote_runs_to_the_end() -> None:
    assert html_excerpt("<p>Дякую!</p>\n<blockquote><p>Спробуйте оновити модуль?") == "Дякую!"
    cut = discourse_quote("dev_olena", "<p>?</p>")[:-30]  # ends inside the blockquote
    assert html_excerpt("<p>Дякую!</p>\n" + cut) == "Дякую!"


def test_a_post_that_is_only_a_quote_has_no_text() -> None:
    assert html_excerpt(discourse_quote("dev_olena", "<p>Спробуйте?</p>")) == ""


def test_what_is_no_quote_stays() -> None:
    onebox = '<aside class="onebox allowlistedgeneric"><p>Release notes 2.4</p></aside>'
    assert html_excerpt(onebox + "\n<p>See this</p>") == "Release notes 2.4\nSee this"
    assert html_excerpt("<p>a</p></blockquote><p>b</p>") == "ab"  # a stray end tag
    assert html_excerpt("<!-- <blockquote> --><p>kept</p>") == "kept"
    assert html_excerpt("<pre><code>&lt;blockquote&gt;x</code></pre>") == "<blockquote>x"


def test_a_long_quote_no_longer_pushes_the_authors_words_out() -> None:
    quoted = "<p>" + "Довга відповідь розробника. " * 200 + "</p>"  # ~5,600 characters of text
    fragment = discourse_quote("dev_olena", quoted) + "<p>Дякую, допомогло!</p>"
    assert html_excerpt(fragment) == "Дякую, допомогло!"


def test_the_prefix_cut_never_lands_inside_a_quote_and_keeps_its_text() -> None:
    """A long fragment is read as far as its prefix first: a quote that the cut splits is
    dropped from where it begins, and the excerpt is what the whole fragment reads."""
    own = "<p>" + "Моє слово. " * 150 + "</p>\n"  # ~1,650 characters: more than the excerpt
    quote = discourse_quote("dev_olena", "<p>" + "Цитата? " * 3000 + "</p>")  # ~24,000 chars
    fragment = own + quote + own
    assert len(fragment) > 16 * EXCERPT_CHARS  # the prefix path is taken
    text = html_excerpt(fragment)
    assert "Цитата" not in text
    assert text == ("Моє слово. " * 150).strip()[:EXCERPT_CHARS].rstrip()
    # the author's words come only after the quote: the prefix holds none, the whole is read
    text = html_excerpt(quote + own)
    assert "Цитата" not in text and text.startswith("Моє слово.")


def test_a_misago_quote_is_dropped() -> None:
    content = (
        misago_quote("@dev_olena", "<p>Спробуйте оновити модуль?</p>\n")
        + "<p>Дякую, допомогло!</p>"
    )
    assert html_excerpt(content) == "Дякую, допомогло!"
    nested = misago_quote("@dev_olena", "<p>x</p>\n" + misago_quote("@client_ivan", "<p>y?</p>"))
    assert html_excerpt(nested + "<p>ok</p>") == "ok"
    # through the parser, on a real captured post whose content is replaced
    data = json.loads((FIXTURES / "misago" / "posts_solved.json").read_text(encoding="utf-8"))
    post = copy.deepcopy(data["post_set"]["results"][-1])
    post["content"] = content
    where = Where("misago", "http://forum.test/api/threads/3/posts/", "3")
    assert misago_parse.post_from_json(post, 2, where).body_text == "Дякую, допомогло!"


def test_an_html_profile_post_drops_its_quotes() -> None:
    """phpBB, vBulletin, XenForo and SMF quotes inside a post body on the classic forum."""
    original = '<div class="text">При підписі отримую помилку 403.</div>'
    quoted = (
        '<div class="text"><blockquote><cite>dev_olena написав:</cite>Оновіть модуль?'
        "<blockquote>вкладена помилка</blockquote></blockquote>"
        '<div class="bbcode_container"><div class="bbcode_quote">Originally Posted by x: E42?'
        "</div></div>"
        '<blockquote class="bbCodeBlock bbCodeBlock--quote">error</blockquote>'
        '<div class="quoteheader">Quote from: dev_olena</div>'
        '<blockquote class="bbc_standard_quote">помилка?</blockquote>'
        "Дякую, допомогло!</div>"
    )
    with HostileServer(site(classic_pages(replace=(original, quoted)))) as server:
        _, topics = read_all(server.url)
    post = topics["102"].posts[0]  # type: ignore[attr-defined]
    assert post.body_text == "Дякую, допомогло!"
    assert post.author.username == "client_maria"  # the rest of the post is read as before
    # vBulletin 4 keeps a post's own words in blockquote.postcontent: they stay
    own = '<div class="text"><blockquote class="postcontent restore">Дякую!</blockquote></div>'
    with HostileServer(site(classic_pages(replace=(original, own)))) as server:
        _, topics = read_all(server.url)
    assert topics["102"].posts[0].body_text == "Дякую!"  # type: ignore[attr-defined]


def test_a_discourse_thanks_after_a_quoted_question_reads_as_closing() -> None:
    cooked = (
        discourse_quote("dev_olena", "<p>Спробуйте оновити модуль?</p>")
        + "<p>Дякую, допомогло!</p>"
    )
    post = {
        "id": 31,
        "post_number": 3,
        "username": "client_ivan",
        "name": "Іван",
        "created_at": "2026-10-21T09:00:00.000Z",
        "post_type": 1,
        "reply_to_post_number": 2,
        "cooked": cooked,
    }
    where = Where("demo", "http://forum.test/t/7.json", "7")
    text = discourse_parse.post_from_json(post, where).body_text
    assert text == "Дякую, допомогло!"
    assert read_post(text).closing
    # as it was read before quotes were dropped, the quoted "?" made it a question
    flattened = "dev_olena:\nСпробуйте оновити модуль?\nДякую, допомогло!"
    assert not read_post(flattened).closing
