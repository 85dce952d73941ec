"""House style of the Japanese catalog: Japanese punctuation, one word for each thing, and 中止 only
for an event that is called off (a person's registration is キャンセル済み).

The chosen words (TERMS lists the variants that would mix with them): registration 申し込み,
organiser 主催者, check-in チェックイン, waiting list キャンセル待ち, refund 返金, sign in ログイン,
payment provider 決済サービス, a place 席, the private calendar マイカレンダー,
category カテゴリー, awaiting payment 支払い待ち, e-mail メール.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
JA_CATALOG = ROOT / "community" / "translations" / "ja" / "LC_MESSAGES" / "messages.po"

# Kana, kanji, CJK punctuation and full-width forms: the characters of a Japanese sentence.
JAPANESE = r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs%]")
URL = re.compile(r"(?:https?|webcal)://[^\s「」（）、。]*")
# Code or a literal quoted for the reader, such as 「?lang=ja」 or 「Authorization: Bearer」.
QUOTED_LITERAL = re.compile(r"「[\x20-\x7e]+」")
ASCII_NEXT_TO_JAPANESE = re.compile(rf"{JAPANESE}[!?:()]|[!?:()] *{JAPANESE}")

# (test id, the word chosen, a variant that must not appear beside it)
TERMS = [
    ("registration-not-short-form", "申し込み", "申込"),
    ("registration-not-sankatouroku", "申し込み", "参加登録"),
    ("organiser-not-uneisha", "主催者", "運営者"),
    ("check-in-not-uketsukezumi", "チェックイン", "受付済"),
    ("waiting-list-not-katakana", "キャンセル待ち", "ウェイティングリスト"),
    ("waiting-list-not-junbanmachi", "キャンセル待ち", "順番待ち"),
    ("waiting-list-not-taiki", "キャンセル待ち", "待機リスト"),
    ("refund-not-haraimodoshi", "返金", "払い戻し"),
    ("refund-not-haraimodoshi-short", "返金", "払戻"),
    ("sign-in-not-katakana", "ログイン", "サインイン"),
    ("sign-out-not-katakana", "ログアウト", "サインアウト"),
    ("provider-not-jigyousha", "決済サービス", "決済事業者"),
    ("place-not-oseki", "席", "お席"),
    ("private-calendar-not-senyou", "マイカレンダー", "専用カレンダー"),
    ("private-calendar-not-senyou-no", "マイカレンダー", "専用のカレンダー"),
    ("category-long-vowel", "カテゴリー", "カテゴリ(?!ー)"),
    ("folder-long-vowel", "フォルダー", "フォルダ(?!ー)"),
    ("awaiting-payment-not-nyuukin", "支払い待ち", "入金待ち"),
    ("awaiting-payment-okurigana", "支払い待ち", "支払待ち"),
    ("e-mail-not-e-meeru", "メール", "Eメール"),
    ("e-mail-not-denshi", "メール", "電子メール"),
    ("polite-okokoroatari", "お心当たり", "(?<!お)心当たり"),
    ("cancelled-okurigana", "キャンセル済み", "キャンセル済(?!み)"),
]

# (test id, an English word in the msgid, the Japanese that its translation must contain)
SAME_WORD = [
    ("waiting-list", r"waiting list|waitlist", "キャンセル待ち"),
    ("check-in", r"\bcheck(?:ed|s|ing)?[- ]in\b", "チェックイン"),
    ("organiser", r"organi[sz]er", "主催者"),
    ("refund", r"refund", "返金"),
    ("sign-in", r"\bsign(?:ed|ing|s)? in\b", "ログイン"),
    ("sign-out", r"\bsign(?:ed|ing|s)? out\b", "ログアウト"),
    ("attendee", r"attendee", "参加"),
    ("cancel", r"\bcancel", "キャンセル|中止|取り消"),
]


def _entries() -> list[tuple[str | None, str, str]]:
    """(context, msgid, msgstr) for every translated form of every entry but the header."""
    with JA_CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="ja")
    entries = []
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        entries.extend((message.context, msgid, form) for form in forms if form)
    return entries


def _prose(msgstr: str) -> str:
    """The translation without the parts that keep ASCII on purpose: placeholders, URLs, quoted
    literals."""
    text = PLACEHOLDER.sub("§", msgstr)
    text = URL.sub("§", text)
    return QUOTED_LITERAL.sub("「§」", text)


def _report(found: list[tuple[str, str]]) -> str:
    return "\n".join(f"  {msgid!r}\n    → {msgstr!r}" for msgid, msgstr in found)


def test_no_ascii_exclamation_question_colon_or_parenthesis_touches_japanese():
    found = [
        (msgid, msgstr)
        for _, msgid, msgstr in _entries()
        if ASCII_NEXT_TO_JAPANESE.search(_prose(msgstr))
    ]
    assert found == [], "use ！？：（） in Japanese text:\n" + _report(found)


def test_no_half_width_space_beside_a_japanese_comma_or_full_stop():
    found = [
        (msgid, msgstr) for _, msgid, msgstr in _entries() if re.search(r" [、。]|[、。] ", msgstr)
    ]
    assert found == [], "no space before or after 、 and 。:\n" + _report(found)


def test_no_space_between_a_placeholder_and_japanese():
    placeholder = r"%\([^)]*\)[-#0 +]*\d*[diouxXeEfFgGcrs]"
    pattern = re.compile(rf"{placeholder} +{JAPANESE}|{JAPANESE} +{placeholder}")
    found = [(msgid, msgstr) for _, msgid, msgstr in _entries() if pattern.search(msgstr)]
    assert found == [], "write %(name)sさん, not %(name)s さん:\n" + _report(found)


def test_a_cancelled_registration_is_never_called_off_like_an_event():
    def about_a_cancelled_registration(context: str | None, msgid: str) -> bool:
        words = f"{context or ''} {msgid}".lower()
        return "registration" in words and "cancel" in words

    found = [
        (msgid, msgstr)
        for context, msgid, msgstr in _entries()
        if about_a_cancelled_registration(context, msgid) and "中止" in msgstr
    ]
    assert found == [], "a registration is キャンセル(済み); 中止 is for an event:\n" + _report(
        found
    )


@pytest.mark.parametrize(
    ("english", "japanese"), [pair[1:] for pair in SAME_WORD], ids=[pair[0] for pair in SAME_WORD]
)
def test_the_same_english_word_always_gets_the_same_japanese_word(english, japanese):
    # 受付 is the registration window (受付開始, 受付終了), so check-in must be チェックイン.
    found = [
        (msgid, msgstr)
        for _, msgid, msgstr in _entries()
        if re.search(english, msgid, re.IGNORECASE) and not re.search(japanese, msgstr)
    ]
    assert found == [], f"{english!r} is {japanese} everywhere else:\n" + _report(found)


@pytest.mark.parametrize(
    ("chosen", "variant"), [term[1:] for term in TERMS], ids=[term[0] for term in TERMS]
)
def test_each_thing_has_one_word(chosen, variant):
    found = [(msgid, msgstr) for _, msgid, msgstr in _entries() if re.search(variant, msgstr)]
    assert found == [], f"the catalog says {chosen}; these say {variant}:\n" + _report(found)


def test_every_translation_keeps_the_placeholders_of_its_msgid():
    def placeholders(text: str) -> list[str]:
        return sorted(PLACEHOLDER.findall(text))

    with JA_CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="ja")
    found = []
    for message in catalog:
        if not message.id or not message.python_format:
            continue
        # Japanese has one plural form: it takes the plural msgid's placeholders.
        source = message.id[-1] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        found += [(source, form) for form in forms if placeholders(form) != placeholders(source)]
    assert found == [], "a placeholder was dropped, added or changed:\n" + _report(found)


def test_a_cancelled_registrations_own_page_says_kyanseruzumi_not_chuushi(
    client, make_event, register
):
    """The registration's status word. The catalog alone cannot fix it while the same msgid
    "Cancelled" also marks a called-off event (中止): it needs its own context."""
    from community.events import services
    from community.events.notify import manage_url

    registration = register(make_event(), language="ja")
    services.cancel_registration(registration.id)
    html = client.get(manage_url(registration), headers={"Accept-Language": "ja"}).text
    status = re.search(r'<dd class="status status-cancelled">\s*(.*?)\s*</dd>', html, re.S)
    assert status is not None, html
    assert status.group(1) == "キャンセル済み"
