"""Emmaus Studio in a real browser (Debian's Chromium, headless) against the real app on
loopback and scripted upstream models: every flow the page offers, as a person would use it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from emmaus.config import Settings
from emmaus.conversations.types import NewMessage
from tests.studio.support import Credentials, new_credentials, seed_chat, seed_long_chat

expect: Any = None  # playwright.sync_api.expect, imported once the browser is known to exist


@pytest.fixture(scope="module", autouse=True)
def _playwright_expect(browser: Any) -> None:
    global expect
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=15_000)
    expect = playwright_expect


@dataclass
class Tab:
    """A page in its own browser context (its own sessionStorage), with what went wrong."""

    page: Any
    errors: list[str] = field(default_factory=list)  # uncaught errors and console errors
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt: none expected
    requests: list[str] = field(default_factory=list)  # every URL the page asked for

    def messages(self, role: str) -> Any:
        return self.page.locator(f'#messages [data-role="{role}"]')

    def send(self, text: str) -> None:
        box = self.page.get_by_label("Message", exact=True)
        box.fill(text)
        box.press("Enter")

    def wait_idle(self) -> None:
        expect(self.page.get_by_role("button", name="Stop")).to_be_hidden(timeout=30_000)
        expect(self.page.locator("#messages .streaming")).to_have_count(0)

    def choose_model(self, value: str) -> None:
        settings = self.page.locator("#settings")
        if settings.get_attribute("open") is None:
            settings.locator("summary").click()
        self.page.get_by_label("Routing", exact=True).select_option(value)


@pytest.fixture(scope="module")
def creds(studio_config: Settings, studio_url: str) -> Credentials:
    return new_credentials(studio_config)


@pytest.fixture
def tab(browser: Any, studio_url: str) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    opened = Tab(page)
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)

    def on_dialog(dialog: Any) -> None:
        opened.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda request: opened.requests.append(request.url))
    page.goto(studio_url + "/")
    try:
        yield opened
    finally:
        context.close()


def sign_in(tab: Tab, creds: Credentials) -> None:
    page = tab.page
    page.get_by_label("Client ID").fill(creds.client_id)
    page.get_by_label("Client secret").fill(creds.secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="New chat")).to_be_visible()


@pytest.fixture
def signed_in(tab: Tab, creds: Credentials) -> Tab:
    sign_in(tab, creds)
    return tab


def chat_id_of(tab: Tab) -> str:
    expect(tab.page).to_have_url(re.compile(r"#/chat/c"))
    return tab.page.url.rsplit("/", 1)[-1]


def api(studio_url: str, creds: Credentials) -> httpx.Client:
    token = httpx.post(
        f"{studio_url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.client_id, creds.secret),
    ).json()["access_token"]
    return httpx.Client(
        base_url=studio_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


# -- signing in ---------------------------------------------------------------------------------


def test_a_wrong_secret_is_shown_in_words(tab: Tab, creds: Credentials) -> None:
    page = tab.page
    page.get_by_label("Client ID").fill(creds.client_id)
    page.get_by_label("Client secret").fill("not-the-secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").first).to_contain_text("Wrong client ID or secret")
    expect(page.get_by_role("button", name="New chat")).to_be_hidden()
    assert tab.errors == [] or all("401" in e for e in tab.errors)


def test_sign_in_keeps_the_token_for_the_tab_only_and_signs_out(
    tab: Tab, creds: Credentials, studio_url: str
) -> None:
    sign_in(tab, creds)
    page = tab.page
    stored = page.evaluate("() => JSON.stringify(localStorage)")
    assert "token" not in stored and creds.secret not in stored
    session = page.evaluate("() => JSON.stringify(sessionStorage)")
    assert creds.secret not in session  # the secret is never stored, only the token
    assert all(
        "token" not in url.split("/oauth2/")[-1] or "/oauth2/token" in url for url in tab.requests
    )
    assert not any("access_token" in url or creds.secret in url for url in tab.requests)
    page.reload()  # the tab keeps its token: no second sign-in
    expect(page.get_by_role("button", name="New chat")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert "access_token" not in page.evaluate("() => JSON.stringify(sessionStorage)")
    assert all(url.startswith(studio_url) for url in tab.requests)  # nothing from elsewhere


def test_the_token_is_renewed_before_it_expires(
    browser: Any, studio_url: str, creds: Credentials
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.clock.install()  # the page's timers and Date, moved on by hand
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/oauth2/token") else None)
    page.goto(studio_url + "/")
    tab = Tab(page)
    sign_in(tab, creds)
    first = page.evaluate("() => JSON.parse(sessionStorage.getItem('emmaus.studio.session'))")
    page.clock.fast_forward("59:10")  # the token lives an hour: renewed a minute before
    page.wait_for_function(
        "t => JSON.parse(sessionStorage.getItem('emmaus.studio.session')).token !== t",
        arg=first["token"],
    )
    renewed = page.evaluate("() => JSON.parse(sessionStorage.getItem('emmaus.studio.session'))")
    assert len(asked) == 2 and renewed["expiresAt"] > first["expiresAt"]
    expect(page.get_by_role("button", name="New chat")).to_be_visible()  # still signed in
    context.close()


def test_the_page_is_usable_by_keyboard_alone_with_a_visible_focus(
    tab: Tab, creds: Credentials
) -> None:
    page = tab.page
    expect(page.get_by_label("Client ID")).to_be_focused()  # focus starts in the first field
    page.keyboard.type(creds.client_id)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Client secret")).to_be_focused()
    page.keyboard.type(creds.secret)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="New chat")).to_be_visible()
    page.keyboard.press("Alt+m")
    box = page.get_by_label("Message", exact=True)
    expect(box).to_be_focused()
    outline = box.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline not in ("none", "")  # a visible focus ring
    page.keyboard.type("Hello from the keyboard")
    page.keyboard.press("Enter")
    tab.wait_idle()
    expect(tab.messages("assistant").last).to_contain_text("Hello from the keyboard")
    page.keyboard.press("Control+k")
    expect(page.get_by_label("Filter chats")).to_be_focused()
    page.keyboard.press("Tab")  # from the filter to the first chat's link
    focused = page.evaluate("() => document.activeElement.className")
    assert "chat-link" in focused
    page.keyboard.press("Tab")  # its tools are reachable too
    expect(page.locator("#chat-list [data-action=rename]").first).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # pin it: the list is rebuilt, the focus stays where it was
    pin = page.locator("#chat-list [data-action=pin]").first
    expect(pin).to_have_attribute("aria-pressed", "true")
    expect(pin).to_be_focused()
    page.keyboard.press("Enter")  # and unpin it (the later tests expect no pinned chat)
    expect(pin).to_have_attribute("aria-pressed", "false")
    expect(pin).to_be_focused()


# -- a conversation -----------------------------------------------------------------------------


def test_send_streams_the_answer_and_a_reload_reopens_the_chat(signed_in: Tab) -> None:
    page = signed_in.page
    signed_in.send("Tell me about the parable of the sower in plain words please")
    reply = signed_in.messages("assistant").last
    signed_in.wait_idle()
    expect(signed_in.messages("user")).to_have_count(1)
    expect(reply).to_contain_text("parable of the sower in plain words")
    # The routing decision, discreet but expandable: model, tier, confidence and reason.
    routing = reply.locator("details.routing")
    expect(routing.locator("summary")).to_contain_text("echo-")
    routing.locator("summary").click()
    expect(routing).to_contain_text("Confidence")
    expect(routing).to_contain_text("Reason")
    chat_id = chat_id_of(signed_in)
    expect(page.locator(f'#chat-list li[data-id="{chat_id}"]')).to_be_visible()
    page.reload()
    expect(signed_in.messages("assistant")).to_have_count(1)
    expect(signed_in.messages("user")).to_contain_text("parable of the sower")
    # Shift+Enter is a new line, not a send.
    box = page.get_by_label("Message", exact=True)
    box.fill("first line")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"
    expect(signed_in.messages("user")).to_have_count(1)
    page.get_by_role("button", name="Send").click()
    signed_in.wait_idle()
    expect(signed_in.messages("user").last.locator(".user-text")).to_have_text(
        "first line\nsecond line"
    )
    # Watching a slower stream arrive: the text grows piece by piece before it is complete.
    signed_in.choose_model("model:drip-stream")
    question = "Please tell me, in a few calm sentences, why the psalms were sung by pilgrims."
    signed_in.send(question * 2)
    reply = signed_in.messages("assistant").last
    text = reply.locator(".text")
    expect(text).not_to_be_empty()
    first = len(text.inner_text())
    expect(reply).to_have_attribute("aria-busy", "true")  # still being written
    page.wait_for_function(
        "([el, n]) => el.textContent.length > n", arg=[text.element_handle(), first + 5]
    )
    signed_in.wait_idle()
    assert first < len(question * 2) - 10  # it was not all there at once
    expect(reply).to_contain_text(question.strip())
    assert signed_in.errors == []


def test_stop_ends_the_generation_and_keeps_what_was_written(
    signed_in: Tab, studio_upstream: Any
) -> None:
    page = signed_in.page
    signed_in.choose_model("model:slow-stream")
    long_question = "Tell me, slowly and in detail, about the quiet hills of Galilee. " * 6
    signed_in.send(long_question)
    reply = signed_in.messages("assistant").last
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible()
    expect(reply.locator(".text")).not_to_be_empty(timeout=20_000)  # some text streamed in
    stop.click()
    signed_in.wait_idle()
    expect(reply).to_contain_text("Stopped")
    expect(reply).to_have_attribute("data-status", "partial")
    written = reply.locator(".text").inner_text()
    assert 0 < len(written) < len(long_question) - 30
    stats = httpx.get(f"{studio_upstream.root_url}/_stats").json()
    assert stats["cancelled"].get("echo+drip-150+size-3+tag-studioslow", 0) >= 1
    page.reload()  # the server kept the partial answer
    expect(signed_in.messages("assistant").last).to_have_attribute("data-status", "partial")


def test_new_chat_rename_pin_and_delete(signed_in: Tab) -> None:
    page = signed_in.page
    signed_in.send("First chat about mercy")
    signed_in.wait_idle()
    first = chat_id_of(signed_in)
    page.get_by_role("button", name="New chat").click()
    expect(signed_in.messages("user")).to_have_count(0)
    signed_in.send("Second chat about hope")
    signed_in.wait_idle()
    expect(page).not_to_have_url(re.compile(first))
    second = chat_id_of(signed_in)
    items = page.locator("#chat-list li.chat-item")
    expect(items.first).to_have_attribute("data-id", second)  # newest activity first

    row = page.locator(f'#chat-list li[data-id="{first}"]')
    row.hover()
    row.locator('[data-action="rename"]').click()
    page.get_by_label("Chat title").fill("Mercy notes")
    page.get_by_role("button", name="Save").click()
    expect(row.locator(".chat-title")).to_have_text("Mercy notes")

    row.locator('[data-action="pin"]').click()
    expect(items.first).to_have_attribute("data-id", first)  # pinned on top
    expect(items.first).to_have_attribute("data-pinned", "true")

    page.get_by_label("Filter chats").fill("mercy")
    expect(items).to_have_count(1)
    page.get_by_label("Filter chats").fill("")

    row = page.locator(f'#chat-list li[data-id="{second}"]')
    row.hover()
    row.locator('[data-action="delete"]').click()
    dialog = page.locator("#dialog")
    expect(dialog).to_contain_text("Delete this chat?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(row).to_be_visible()  # nothing without the confirmation
    row.locator('[data-action="delete"]').click()
    dialog.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    expect(page).not_to_have_url(re.compile(second))
    page.reload()
    expect(page.locator(f'#chat-list li[data-id="{second}"]')).to_have_count(0)
    expect(page.locator(f'#chat-list li[data-id="{first}"] .chat-title')).to_have_text(
        "Mercy notes"
    )
    assert signed_in.dialogs == []


def test_edit_a_question_regenerate_and_move_between_versions(signed_in: Tab) -> None:
    page = signed_in.page
    signed_in.send("Who wrote the letter to the Romans?")
    signed_in.wait_idle()
    signed_in.send("Where was he when he wrote it?")
    signed_in.wait_idle()
    second = signed_in.messages("user").nth(1)
    second.get_by_role("button", name="Edit question").click()
    editor = page.get_by_label("Edited question")
    editor.fill("When did he write it?")
    page.get_by_role("button", name="Save and ask").click()
    signed_in.wait_idle()
    expect(signed_in.messages("user")).to_have_count(2)
    second = signed_in.messages("user").nth(1)
    expect(second).to_contain_text("When did he write it?")
    expect(signed_in.messages("assistant").last).to_contain_text("When did he write it?")
    expect(second.locator(".versions-label")).to_have_text("2/2")

    # A third version of the question, then back to the first: its own answer comes back.
    second.get_by_role("button", name="Edit question").click()
    page.get_by_label("Edited question").fill("To whom was it written?")
    page.get_by_role("button", name="Save and ask").click()
    signed_in.wait_idle()
    second = signed_in.messages("user").nth(1)
    expect(second.locator(".versions-label")).to_have_text("3/3")
    second.get_by_role("button", name="Previous version").click()
    expect(signed_in.messages("user").nth(1).locator(".versions-label")).to_have_text("2/3")
    signed_in.messages("user").nth(1).get_by_role("button", name="Previous version").click()
    second = signed_in.messages("user").nth(1)
    expect(second.locator(".versions-label")).to_have_text("1/3")
    expect(second).to_contain_text("Where was he when he wrote it?")
    expect(signed_in.messages("assistant").last).to_contain_text("Where was he when he wrote it?")
    second.get_by_role("button", name="Next version").click()
    expect(signed_in.messages("user").nth(1)).to_contain_text("When did he write it?")

    # Regenerate the newest answer: a second version of it (2/2), then back to 1/2.
    answer = signed_in.messages("assistant").last
    answer.get_by_role("button", name="Regenerate answer").click()
    signed_in.wait_idle()
    answer = signed_in.messages("assistant").last
    expect(answer.locator(".versions-label")).to_have_text("2/2")
    expect(answer).to_contain_text("When did he write it?")
    answer.get_by_role("button", name="Previous version").click()
    expect(signed_in.messages("assistant").last.locator(".versions-label")).to_have_text("1/2")
    page.reload()  # the active branch is the server's
    expect(signed_in.messages("assistant").last.locator(".versions-label")).to_have_text("1/2")
    expect(signed_in.messages("user").nth(1).locator(".versions-label")).to_have_text("2/3")
    assert signed_in.errors == []


# -- library, sources, safety and escaping ------------------------------------------------------


def test_upload_a_document_and_ask_a_grounded_question_with_its_sources(
    signed_in: Tab, tmp_path: Any
) -> None:
    page = signed_in.page
    page.get_by_role("link", name="Library").click()
    document = tmp_path / "wells.md"
    document.write_text(
        "# The wells of Zarephath\n\n"
        "The cistern keepers of Zarephath drew water from seven wells at dawn. The seventh well, "
        "called Hadassah's well, was kept by the widow's family and never ran dry in the drought.\n"
    )
    page.get_by_label("Publisher", exact=True).fill("studio-tests")
    page.get_by_label("Citation link").fill("https://example.org/wells")
    page.get_by_label("Files").set_input_files(str(document))
    upload = page.locator('#uploads li[data-file="wells.md"]')
    expect(upload).to_have_class(re.compile("done"), timeout=60_000)
    expect(upload.locator("progress")).to_have_attribute("value", "1")
    row = page.locator("#documents tbody tr", has_text="The wells of Zarephath")
    expect(row).to_be_visible()
    # Drag and drop: a file dropped on the zone is uploaded the same way.
    dropped = page.evaluate_handle(
        """() => {
            const data = new DataTransfer();
            data.items.add(new File(["# Dropped notes\\n\\nThe olive press stood by the gate."],
                "dropped.md", { type: "text/markdown" }));
            return data;
        }"""
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": dropped})
    expect(page.locator('#uploads li[data-file="dropped.md"]')).to_have_class(
        re.compile("done"), timeout=60_000
    )
    expect(page.locator("#documents tbody tr", has_text="Dropped notes")).to_be_visible()
    expect(page.locator("#publishers")).to_contain_text("studio-tests")

    page.get_by_role("link", name="Chat").click()
    signed_in.send("Which well of Zarephath never ran dry in the drought?")
    signed_in.wait_idle()
    sources = signed_in.messages("assistant").last.get_by_role("region", name="Sources")
    expect(sources).to_contain_text("The wells of Zarephath")
    link = sources.get_by_role("link", name="The wells of Zarephath")
    expect(link).to_have_attribute("href", "https://example.org/wells")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")

    page.get_by_role("link", name="Library").click()
    row.get_by_role("button", name=re.compile("Delete")).click()
    page.locator("#dialog").get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)


def test_a_crisis_message_shows_the_help_resources_prominently(signed_in: Tab) -> None:
    signed_in.send("I want to end my life tonight, I can't go on")
    signed_in.wait_idle()
    reply = signed_in.messages("assistant").last
    help_box = reply.get_by_role("alert", name="Help resources")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text("988")
    expect(help_box).to_contain_text("Help is available now")
    # It comes first in the reply, before the rest of the text.
    first = reply.locator(".bubble > *").first
    expect(first.get_by_role("alert")).to_have_count(1)


def test_html_in_a_model_reply_is_shown_as_text(signed_in: Tab) -> None:
    page = signed_in.page
    attack = "<img src=x onerror=alert(1)> and **bold** and [a link](javascript:alert(2))"
    signed_in.send(attack)
    signed_in.wait_idle()
    reply = signed_in.messages("assistant").last
    expect(reply).to_contain_text("<img src=x onerror=alert(1)>")
    expect(reply.locator("strong")).to_have_text("bold")  # Markdown still renders
    assert page.locator("#messages img").count() == 0
    assert reply.locator("a[href^='javascript']").count() == 0
    page.reload()  # and from the stored history
    expect(signed_in.messages("assistant").last).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator("#messages img").count() == 0
    page.wait_for_timeout(300)
    assert signed_in.dialogs == []


def test_citations_link_to_their_sources_and_suggestions_are_clickable(
    signed_in: Tab, studio_config: Settings, creds: Credentials
) -> None:
    page = signed_in.page
    source = {
        "item_id": "doc-1",
        "item_title": "Ruth, a study",
        "publisher": "studio-tests",
        "url": "https://example.org/ruth",
        "snippet": "Ruth stayed with Naomi.",
    }
    chat_id = seed_chat(
        studio_config,
        creds.client_id,
        [
            NewMessage("user", "Who was Ruth?", 4, query_id="q-ruth"),
            NewMessage(
                "assistant",
                "Ruth stayed with Naomi [1].",
                6,
                query_id="q-ruth",
                sources=[source],
                suggestions=["Who was Naomi?", "Where is Moab?"],
            ),
        ],
        "Ruth",
    )
    page.goto(page.url.split("#")[0] + f"#/chat/{chat_id}")
    reply = signed_in.messages("assistant").last
    citation = reply.locator("sup.cite a")
    expect(citation).to_have_text("[1]")
    citation.click()
    expect(reply.locator(".sources li").first).to_have_class(re.compile("flash"))
    expect(page).to_have_url(re.compile(f"#/chat/{chat_id}$"))  # the chat's link is kept
    suggestions = reply.get_by_role("group", name="Suggestions")
    suggestions.get_by_role("button", name="Who was Naomi?").click()
    signed_in.wait_idle()
    expect(signed_in.messages("user").last).to_contain_text("Who was Naomi?")
    expect(signed_in.messages("assistant").last).to_contain_text("Who was Naomi?")


def test_per_chat_settings_usage_dark_mode_and_a_phone_width(
    browser: Any, studio_url: str, creds: Credentials
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True)
    page = context.new_page()
    tab = Tab(page)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    page.goto(studio_url + "/")
    sign_in(tab, creds)
    sidebar = page.locator("#sidebar")
    expect(sidebar).not_to_be_in_viewport()  # folded away on a phone
    tab.choose_model("model:echo-deep")
    page.get_by_label("Grounding").uncheck()
    tab.send("Hello from a phone: what did the prophets of Israel say about mercy and justice?")
    tab.wait_idle()
    deep = chat_id_of(tab)
    expect(tab.messages("assistant").last.locator("details.routing summary")).to_contain_text(
        "echo-deep"
    )
    page.get_by_role("button", name="Chats").click()
    expect(sidebar).to_be_in_viewport()
    page.get_by_role("button", name="New chat").click()
    expect(sidebar).not_to_be_in_viewport()
    expect(page.get_by_label("Routing", exact=True)).to_have_value("model:echo-deep")  # the draft's
    tab.choose_model("auto")
    tab.send("Thanks!")
    tab.wait_idle()
    expect(page.get_by_label("Routing", exact=True)).to_have_value("auto")
    page.goto(f"{studio_url}/#/chat/{deep}")
    expect(page.get_by_label("Routing", exact=True)).to_have_value("model:echo-deep")  # per chat
    expect(page.get_by_label("Grounding")).not_to_be_checked()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # fits the phone

    page.get_by_role("button", name="Dark theme").click()
    assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")  # remembered

    page.get_by_role("link", name="Usage").click()
    # The usage ledger is written in batches (about a second): look again until it shows.
    for _ in range(20):
        if page.locator("#usage-models tbody tr", has_text="echo-deep").count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator("#usage-models tbody tr", has_text="echo-deep")).to_be_visible()
    expect(page.locator("#usage-chart svg rect.bar").first).to_be_attached()
    expect(page.locator("#usage-totals")).to_contain_text("Requests")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone
    assert tab.errors == []
    context.close()


MARKDOWN_CASES = [
    ("# Title", "<h3>Title</h3>"),
    (
        "a **b** *c* `<i>d</i>`",
        "<p>a <strong>b</strong> <em>c</em> <code>&lt;i&gt;d&lt;/i&gt;</code></p>",
    ),
    ("- one\n- two", "<ul><li>one</li><li>two</li></ul>"),
    ("3. three\n4. four", '<ol start="3"><li>three</li><li>four</li></ol>'),
    (
        "```html\n<script>alert(1)</script>\n```",
        '<pre><code data-lang="html">&lt;script&gt;alert(1)&lt;/script&gt;</code></pre>',
    ),
    ("> quoted <b>x</b>", "<blockquote><p>quoted &lt;b&gt;x&lt;/b&gt;</p></blockquote>"),
    (
        "[ok](https://e.org/a) [bad](javascript:alert(1)) [data](data:text/html,x)",
        '<p><a href="https://e.org/a" rel="noopener noreferrer nofollow" target="_blank">ok</a>'
        " [bad](javascript:alert(1)) [data](data:text/html,x)</p>",
    ),
    ("line one\nline two", "<p>line one<br>line two</p>"),
    ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>"),
    ("see [2] and [9]", '<p>see <sup class="cite"><a href="#c2">[2]</a></sup> and [9]</p>'),
]


def test_the_markdown_renderer_builds_only_safe_nodes(signed_in: Tab) -> None:
    rendered = signed_in.page.evaluate(
        """async (cases) => {
            const { renderMarkdown } = await import("/studio/markdown.js");
            return cases.map((text) => {
                const box = document.createElement("div");
                renderMarkdown(text, box, { cite: (n) => (n <= 3 ? `#c${n}` : null) });
                return box.innerHTML;  // reading the DOM the renderer built, to compare it
            });
        }""",
        [text for text, _ in MARKDOWN_CASES],
    )
    assert rendered == [expected for _, expected in MARKDOWN_CASES]


# -- a long chat --------------------------------------------------------------------------------


def test_a_10000_message_chat_opens_on_its_newest_turns_and_pages_older_ones(
    signed_in: Tab, studio_config: Settings, creds: Credentials
) -> None:
    page = signed_in.page
    chat_id = seed_long_chat(studio_config, creds.client_id, 10_000, "A very long chat")
    page.goto(page.url.split("#")[0] + f"#/chat/{chat_id}")
    newest = signed_in.messages("assistant").last
    expect(newest).to_contain_text("Answer 5000:")
    expect(page.locator("#chat-title")).to_have_text("A very long chat")
    shown = page.locator("#messages > li").count()
    assert 0 < shown <= 100  # a page, not the whole chat
    opened = page.evaluate("() => document.documentElement.dataset.openedMs")
    print(f"\n10,000-message chat: newest turns shown {opened} ms after the request")
    # Scrolling up loads older turns, keeping the view where it was.
    for _ in range(3):
        before = page.locator("#messages > li").count()
        page.locator("#scroller").evaluate("s => { s.scrollTop = 0; }")
        expect(page.locator("#messages > li")).not_to_have_count(before)
    assert page.locator("#messages > li").count() > shown
    first_text = page.locator("#messages > li").first.inner_text()
    assert "Question" in first_text
    assert signed_in.errors == []
