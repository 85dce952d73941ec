"""Invoices and receipts under the qualified-invoice system: the tax of each rate rounded once per
document, tax-exclusive and tax-inclusive prices, every item the law asks for on the page and in
the PDF in both languages, numbers that count up per series and year and are never given twice
under any concurrency (on SQLite and PostgreSQL), and names that cannot break the page."""

from __future__ import annotations

import io
import re
import threading
import time
from base64 import b64encode
from datetime import UTC, date, datetime
from hashlib import sha256

import pytest
import sqlalchemy as sa
import time_machine
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from community import create_app
from community.core.db import db
from community.core.transaction import write_transaction
from community.payments import documents
from community.payments.documents import (
    DocumentNumber,
    Issuer,
    Line,
    Party,
    TaxLine,
    build_invoice,
    build_receipt,
    build_statement,
    community_today,
    content_security_policy,
    document_number,
    issuer_from_config,
    next_number,
    render_html,
    render_pdf,
    take_number,
    tax_lines,
)

REGISTERED = "T1234567890123"
BANK_ACCOUNT = "テスト銀行 東京営業部（001）\n普通 1234567\nトウキヨウテツクコミユニテイ"
ISSUED = date(2026, 12, 1)


@pytest.fixture
def app(make_app):
    """The numbering tests' app, on each database; no Stripe is needed here."""
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture(scope="module")
def renderer(tmp_path_factory):
    """An app to render with: templates and catalogues only, no database."""
    folder = tmp_path_factory.mktemp("documents")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'unused.db'}",
            "SECRET_KEY": "documents-test-secret-key-long-enough",
            "MAIL_OUTBOX_DIR": str(folder),
        }
    )
    with app.app_context():
        yield app


def _issuer(**changes) -> Issuer:
    values = {
        "INVOICE_ISSUER_NAME": "Tokyo Tech Community",
        "INVOICE_ISSUER_NAME_JA": "東京テックコミュニティ",
        "INVOICE_ISSUER_ADDRESS": "東京都千代田区丸の内1-1-1",
        "INVOICE_REGISTRATION_NUMBER": REGISTERED,
        "INVOICE_BANK_ACCOUNT": BANK_ACCOUNT,
    }
    values.update(changes)
    return issuer_from_config(values)


BUYER = Party(
    name="株式会社サンプル", department="広報部", contact="山田 太郎", address="東京都渋谷区1-2-3"
)
LINES = (
    Line("ゴールドスポンサー", 1, 100_000),
    Line("懇親会のお弁当", 3, 1_000, tax_rate=8, reduced=True),
)


def _invoice(language: str = "ja", **changes):
    values = {
        "number": "INV-2026-0001",
        "issuer": _issuer(),
        "buyer": BUYER,
        "lines": LINES,
        "currency": "JPY",
        "language": language,
        "issued_on": ISSUED,
        "supplied_on": date(2026, 11, 28),
    }
    values.update(changes)
    return build_invoice(**values)


def _receipt(language: str = "ja", **changes):
    values = {
        "number": "RCP-2026-0001",
        "issuer": _issuer(),
        "buyer": BUYER,
        "lines": LINES,
        "currency": "JPY",
        "language": language,
        "issued_on": date(2026, 12, 10),
        "supplied_on": date(2026, 11, 28),
        "paid_on": date(2026, 12, 9),
        "payment_method": "bank_transfer",
        "received_for": "協賛金",
    }
    values.update(changes)
    return build_receipt(**values)


def _text(html: str) -> str:
    """What the page says, tags removed and blanks folded (entities kept as escaped)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _squeezed(text: str) -> str:
    # Wrapped lines and the Japanese title's letter spacing come out as blanks.
    return re.sub(r"\s+", "", text)


# --- the tax -------------------------------------------------------------------------------------


def test_the_tax_is_rounded_once_on_each_rates_sum_not_line_by_line():
    lines = [Line("Workshop seat", 1, 105), Line("Workshop seat", 1, 105)]
    # Line by line: 10.5 → 10, twice, is 20; on the document's 210 it is 21.
    assert tax_lines(lines, prices_include_tax=False) == (TaxLine(10, False, 210, 21),)


def test_inclusive_prices_are_rounded_once_per_rate_too():
    lines = [Line("Ticket", 1, 105)] * 3
    # Line by line: 105 × 10/110 = 9.54 → 9, three times, is 27; on 315 it is 28.63 → 28.
    assert tax_lines(lines, prices_include_tax=True) == (TaxLine(10, False, 287, 28),)


def test_a_tax_inclusive_total_has_its_tax_taken_out_at_rate_over_100_plus_rate():
    (line,) = tax_lines([Line("Booth", 1, 11_000)], prices_include_tax=True)
    assert (line.before_tax_minor, line.tax_minor, line.including_tax_minor) == (
        10_000,
        1_000,
        11_000,
    )
    coffee = Line("Coffee", 1, 1_080, tax_rate=8, reduced=True)
    (line,) = tax_lines([coffee], prices_include_tax=True)
    assert (line.before_tax_minor, line.tax_minor) == (1_000, 80)


def test_standard_and_reduced_rates_are_taxed_apart_standard_first():
    found = tax_lines(
        [
            Line("Lunch box", 2, 555, tax_rate=8, reduced=True),
            Line("Sponsorship", 1, 100_000),
            Line("Tea", 1, 151, tax_rate=8, reduced=True),
        ],
        prices_include_tax=False,
    )
    # 8% of 1,261 is 100.88: once, rounded down, 100 (line by line it would be 88 + 12 = 100,
    # and with 2 × 555 split it would differ again); 10% of 100,000 is 10,000.
    assert found == (TaxLine(10, False, 100_000, 10_000), TaxLine(8, True, 1_261, 100))


@pytest.mark.parametrize(
    ("amount", "rounding", "tax"),
    [
        (104, "down", 10),
        (105, "down", 10),
        (109, "down", 10),
        (104, "half_up", 10),
        (105, "half_up", 11),
        (109, "half_up", 11),
        (101, "up", 11),
        (105, "up", 11),
        (100, "up", 10),
    ],
)
def test_each_rounding_rule_rounds_the_rates_tax(amount, rounding, tax):
    (line,) = tax_lines([Line("x", 1, amount)], prices_include_tax=False, rounding=rounding)
    assert line.tax_minor == tax


def test_the_issuers_rounding_rule_decides_the_documents_tax():
    lines = (Line("Seat", 1, 105),)
    assert _invoice(lines=lines).tax_minor == 10  # 切り捨て, the default
    half_up = _invoice(lines=lines, issuer=_issuer(INVOICE_TAX_ROUNDING="half_up"))
    assert half_up.tax_minor == 11


def test_the_tax_maths_stay_exact_beyond_what_a_float_holds():
    # 10% of 10**17 + 5 is 10**16 + 0.5: a float has lost the half before it is rounded up.
    (line,) = tax_lines([Line("x", 1, 10**17 + 5)], prices_include_tax=False, rounding="half_up")
    assert line.tax_minor == 10**16 + 1


@pytest.mark.parametrize("inclusive", [False, True])
def test_the_totals_of_each_rate_agree_both_ways(inclusive):
    document = _invoice(prices_include_tax=inclusive)
    for line in document.tax_lines:
        assert line.before_tax_minor + line.tax_minor == line.including_tax_minor
    assert document.before_tax_minor + document.tax_minor == document.total_minor
    amounts = sum(line.amount_minor for line in document.lines)
    assert (document.total_minor if inclusive else document.before_tax_minor) == amounts


def test_a_rate_marked_reduced_on_some_lines_and_not_others_is_refused():
    with pytest.raises(ValueError, match="reduced"):
        tax_lines(
            [Line("a", 1, 100, tax_rate=8, reduced=True), Line("b", 1, 100, tax_rate=8)],
            prices_include_tax=False,
        )


@pytest.mark.parametrize(
    "bad",
    [
        {"quantity": 0},
        {"quantity": 1.5},
        {"unit_price_minor": -1},
        {"unit_price_minor": 10.0},
        {"tax_rate": 10.0},
        {"tax_rate": 101},
        {"description": "\x00\n"},
    ],
)
def test_a_line_refuses_what_is_not_whole_minor_units(bad):
    values = {"description": "Seat", "quantity": 1, "unit_price_minor": 100, **bad}
    with pytest.raises(ValueError):
        Line(**values)


def test_an_unknown_rounding_rule_is_refused():
    with pytest.raises(ValueError, match="rounding"):
        tax_lines([Line("x", 1, 100)], prices_include_tax=False, rounding="bankers")
    with pytest.raises(ValueError, match="INVOICE_TAX_ROUNDING"):
        issuer_from_config({"INVOICE_TAX_ROUNDING": "nearest"})


# --- the issuer ----------------------------------------------------------------------------------


def test_an_issuer_with_nothing_configured_is_the_community_unregistered_with_a_demo_account():
    issuer = issuer_from_config({})
    assert (issuer.name("en"), issuer.name("ja")) == ("Tokyo Tech Community",) * 2
    assert not issuer.registered and issuer.registration_number == ""
    assert issuer.tax_rounding == "down"
    assert issuer.due_on(ISSUED) == date(2026, 12, 15)
    assert "デモ" in issuer.bank_account and "not a real account" in issuer.bank_account


def test_the_configuration_decides_rounding_and_due_days_as_typed_in_the_environment():
    issuer = issuer_from_config({"INVOICE_TAX_ROUNDING": "Half-Up", "INVOICE_DUE_DAYS": "30"})
    assert issuer.tax_rounding == "half_up"
    assert issuer.due_on(ISSUED) == date(2026, 12, 31)
    with pytest.raises(ValueError, match="INVOICE_DUE_DAYS"):
        issuer_from_config({"INVOICE_DUE_DAYS": "two weeks"})


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("T1234567890123", "T1234567890123"),
        ("ｔ１２３４５６７８９０１２３", "T1234567890123"),
        ("T 1234-5678-9012-3", "T1234567890123"),
        ("1234567890123", "T1234567890123"),
        ("", ""),
    ],
)
def test_a_registration_number_is_read_as_typed(typed, stored):
    assert issuer_from_config({"INVOICE_REGISTRATION_NUMBER": typed}).registration_number == stored


@pytest.mark.parametrize("typed", ["T123", "T12345678901234", "X1234567890123", "T123456789012a"])
def test_a_malformed_registration_number_is_refused(typed):
    with pytest.raises(ValueError, match="INVOICE_REGISTRATION_NUMBER"):
        issuer_from_config({"INVOICE_REGISTRATION_NUMBER": typed})


# --- numbers -------------------------------------------------------------------------------------


def _take(series: str, year: int) -> int:
    with write_transaction():
        return next_number(series, year)


def test_numbers_count_up_per_series_and_year_and_restart_each_year(app):
    assert [_take("INV", 2026) for _ in range(3)] == [1, 2, 3]
    assert _take("RCP", 2026) == 1
    assert _take("INV", 2027) == 1
    assert _take("INV", 2026) == 4
    stored = db.session.scalars(
        select(DocumentNumber.last_number).order_by(DocumentNumber.series, DocumentNumber.year)
    ).all()
    assert stored == [4, 1, 1]


def test_a_number_whose_transaction_rolls_back_is_given_again(app):
    assert _take("INV", 2026) == 1
    with pytest.raises(RuntimeError, match="changed its mind"), write_transaction():
        assert next_number("INV", 2026) == 2
        raise RuntimeError("the caller changed its mind")
    with pytest.raises(RuntimeError), write_transaction():
        assert next_number("INV", 2030) == 1  # a year's first row goes too
        raise RuntimeError("again")
    assert _take("INV", 2026) == 2
    assert _take("INV", 2030) == 1


def test_a_number_is_taken_only_inside_the_callers_write_transaction(app):
    with pytest.raises(RuntimeError, match="write_transaction"):
        next_number("INV", 2026)


def test_the_documents_number_is_its_series_year_and_four_digits_at_least(app):
    assert document_number("INV", 2026, 7) == "INV-2026-0007"
    assert document_number("RCP", 2026, 12_345) == "RCP-2026-12345"
    with write_transaction():
        assert take_number("RCP", date(2027, 1, 1)) == "RCP-2027-0001"
    for series, year, number in (("inv", 2026, 1), ("TOOLONGXX", 2026, 1), ("INV", 2026, 0)):
        with pytest.raises(ValueError):
            document_number(series, year, number)


def test_the_counter_cannot_go_below_zero(app):
    db.session.add(DocumentNumber(series="INV", year=2026, last_number=-1))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_document_issued_on_new_years_morning_in_tokyo_counts_in_the_new_year(app):
    with time_machine.travel(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), tick=False):
        assert community_today() == date(2027, 1, 1)  # 08:30 in Tokyo


def test_simultaneous_transactions_never_get_the_same_number(app, writers_meet):
    threads_count, each = 8, 5
    # The first transaction of every thread starts writing only when all have begun: they all
    # find no row for the year and insert its first one at once.
    writers_meet(threads_count)
    taken: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def issue() -> None:
        with app.app_context():
            try:
                for _ in range(each):
                    number = _take("RCP", 2026)
                    with lock:
                        taken.append(number)
            except BaseException as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(taken) == list(range(1, threads_count * each + 1))
    db.session.rollback()
    counter = db.session.get(DocumentNumber, ("RCP", 2026))
    assert counter.last_number == threads_count * each


def test_the_loser_of_a_race_for_a_years_first_row_takes_the_next_number(app):
    if app.config["TEST_BACKEND"] != "postgresql":
        # BEGIN IMMEDIATE lets one writer in at a time on SQLite, so a second transaction can
        # never hold an uncommitted first row while ours looks: the race exists on PostgreSQL only.
        pytest.skip("SQLite lets one writer in at a time: two first rows cannot race there")
    # Another transaction has inserted the year's first row and not yet committed: ours finds no
    # row, its INSERT waits on the primary key, is refused once the other commits, and takes 2.
    other = db.engine.connect()
    other_transaction = other.begin()
    other.execute(
        sa.insert(DocumentNumber.__table__).values(series="INV", year=2031, last_number=1)
    )
    answers: list[object] = []

    def ours() -> None:
        with app.app_context():
            try:
                answers.append(_take("INV", 2031))
            except BaseException as error:
                answers.append(error)
            finally:
                db.session.remove()

    thread = threading.Thread(target=ours)
    thread.start()
    _wait_for_a_blocked_insert(other)
    other_transaction.commit()
    thread.join(timeout=30)
    other.close()
    assert answers == [2]


def _wait_for_a_blocked_insert(connection) -> None:
    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query LIKE 'INSERT INTO document_numbers%'"
    )
    deadline = time.monotonic() + 10
    with db.engine.connect() as watcher:
        while watcher.execute(waiting).scalar_one() == 0:
            assert time.monotonic() < deadline, "the second INSERT never waited"
            time.sleep(0.02)
            watcher.rollback()


# --- the page ------------------------------------------------------------------------------------


def test_a_japanese_invoice_carries_every_item_of_a_qualified_invoice(renderer):
    html = render_html(_invoice("ja"))
    text = _text(html)
    assert '<html lang="ja">' in html
    assert "<h1>請求書</h1>" in html
    assert "東京テックコミュニティ" in text and "東京都千代田区丸の内1-1-1" in text
    assert f"登録番号：{REGISTERED}" in text
    assert "適格請求書発行事業者の登録を受けていません" not in text
    assert "INV-2026-0001" in text
    assert "2026年12月1日" in text  # issued
    assert "2026年11月28日" in text  # supplied
    assert "2026年12月15日" in text  # due, INVOICE_DUE_DAYS later
    assert "株式会社サンプル 御中" in text and "ご担当：山田 太郎 様" in text
    assert "ゴールドスポンサー" in text and "懇親会のお弁当 ※" in text
    assert "10%対象 ￥100,000 ￥10,000 ￥110,000" in text
    assert "8%対象（軽減税率）※ ￥3,000 ￥240 ￥3,240" in text
    assert "合計 ￥103,000 ￥10,240 ￥113,240" in text
    assert "消費税額" in text and "※は軽減税率対象です。" in text
    assert "ご請求金額 ￥113,240 （税込）" in text
    assert BANK_ACCOUNT in html


def test_an_english_invoice_says_the_same_in_english(renderer):
    html = render_html(_invoice("en"))
    text = _text(html)
    assert '<html lang="en">' in html and "<h1>Invoice</h1>" in html
    assert "Tokyo Tech Community" in text and "東京テックコミュニティ" not in text
    assert f"Registration number: {REGISTERED}" in text
    assert "Invoice number INV-2026-0001" in text
    assert "Date of issue 1 December 2026" in text
    assert "Date of supply 28 November 2026" in text
    assert "Due date 15 December 2026" in text
    assert "株式会社サンプル" in text and "御中" not in text and "Attn: 山田 太郎" in text
    assert "10% ¥100,000 ¥10,000 ¥110,000" in text
    assert "8% (reduced rate) ※ ¥3,000 ¥240 ¥3,240" in text
    assert "Total ¥103,000 ¥10,240 ¥113,240" in text
    assert "Amount due ¥113,240 (including consumption tax)" in text
    assert "Unit prices and amounts exclude consumption tax." in text
    assert "Bank account for the transfer" in text and "普通 1234567" in text


@pytest.mark.parametrize("language", ["ja", "en"])
def test_an_unregistered_issuers_document_says_so_and_shows_no_number(renderer, language):
    document = _invoice(language, issuer=_issuer(INVOICE_REGISTRATION_NUMBER=""))
    assert not document.is_qualified_invoice
    text = _text(render_html(document))
    assert REGISTERED not in text
    assert "登録番号" not in text and "Registration number" not in text
    if language == "ja":
        assert "<h1>請求書</h1>" in render_html(document)
        assert "当団体は適格請求書発行事業者の登録を受けていません。" in text
        assert "本書は適格請求書ではありません。" in text
    else:
        assert "The issuer is not a registered qualified invoice issuer" in text


def test_a_japanese_receipt_says_for_what_the_money_was_received(renderer):
    html = render_html(_receipt("ja"))
    text = _text(html)
    assert "<h1>領収書</h1>" in html and "RCP-2026-0001" in text
    assert "領収金額 ￥113,240 （税込）" in text
    assert "但し　協賛金　として" in html
    assert "上記正に領収いたしました。" in text
    assert "2026年12月9日" in text and "銀行振込" in text  # paid on, and how
    assert f"登録番号：{REGISTERED}" in text
    assert "8%対象（軽減税率）※ ￥3,000 ￥240 ￥3,240" in text
    assert "Bank account for the transfer" not in text and "テスト銀行" not in text
    assert "但し　ゴールドスポンサーほか　として" in render_html(_receipt("ja", received_for=""))


def test_an_english_receipt_says_the_same_in_english(renderer):
    text = _text(render_html(_receipt("en", payment_method="card", received_for="")))
    assert "Receipt number RCP-2026-0001" in text
    assert "Amount received ¥113,240 (including consumption tax)" in text
    # Without a 但し line of its own, a receipt names its first line and says there are more.
    assert "For ゴールドスポンサー and other items" in text
    assert "Date of payment 9 December 2026" in text
    assert "Payment method Credit card" in text


def test_a_person_is_addressed_with_sama_and_a_company_with_onchu(renderer):
    text = _text(render_html(_receipt("ja", buyer=Party(name="佐藤 花子", person=True))))
    assert "佐藤 花子 様" in text and "御中" not in text


def test_a_tax_inclusive_dollar_document_shows_cents_and_the_tax_taken_out(renderer):
    document = _receipt(
        "en",
        currency="USD",
        prices_include_tax=True,
        lines=(Line("Workshop", 1, 100_000), Line("Snacks", 1, 3_000, tax_rate=8, reduced=True)),
    )
    text = _text(render_html(document))
    # $1,000.00 × 10/110 = $90.909… → $90.90; $30.00 × 8/108 = $2.222… → $2.22.
    assert "10% $909.10 $90.90 $1,000.00" in text
    assert "8% (reduced rate) ※ $27.78 $2.22 $30.00" in text
    assert "Total $936.88 $93.12 $1,030.00" in text
    assert "Unit prices and amounts include consumption tax." in text


def test_the_page_stands_alone_and_its_policy_allows_only_its_own_style(renderer):
    html = render_html(_invoice("ja"))
    assert html.startswith("<!doctype html>")
    assert "<link" not in html and "<script" not in html and "src=" not in html
    assert "@page" in html and "size: A4" in html and "Noto Sans CJK JP" in html
    style = re.search(r"<style>(.*?)</style>", html, re.DOTALL).group(1)
    digest = b64encode(sha256(style.encode()).digest()).decode()
    policy = content_security_policy()
    assert f"style-src 'sha256-{digest}'" in policy and "default-src 'none'" in policy


HOSTILE = "<script>alert(1)</script>\x00株式会社\u202eevil\nSecond line\x07"


def test_hostile_names_are_escaped_and_lose_their_control_characters(renderer):
    document = _invoice(
        "en",
        buyer=Party(name=HOSTILE, address=HOSTILE, contact=HOSTILE),
        lines=(Line(HOSTILE, 1, 1_000),),
        note=HOSTILE,
    )
    html = render_html(document)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\x00" not in html and "\x07" not in html and "\u202e" not in html
    assert "株式会社evil Second line" in html  # a name is one line


def test_a_document_refuses_what_is_missing_or_contradictory():
    with pytest.raises(ValueError, match="bank account"):
        _invoice(issuer=Issuer(bank_account=""))
    with pytest.raises(ValueError, match="due before"):
        _invoice(due_on=date(2026, 11, 30))
    with pytest.raises(ValueError, match="before the money arrived"):
        _receipt(paid_on=date(2026, 12, 11))
    with pytest.raises(ValueError, match="name"):
        Party(name="\x00 \n")
    with pytest.raises(ValueError, match="currency"):
        _invoice(currency="XYZ")
    with pytest.raises(ValueError, match="Line"):
        _invoice(lines=())


# --- the PDF -------------------------------------------------------------------------------------


def test_the_japanese_invoice_pdf_says_what_the_page_says_on_a4(renderer):
    pdf = render_pdf(_invoice("ja"))
    assert pdf.startswith(b"%PDF-")
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    text = _squeezed(_pdf_text(pdf))
    for expected in (
        "請求書",
        "INV-2026-0001",
        "東京テックコミュニティ",
        f"登録番号：{REGISTERED}",
        "株式会社サンプル御中",
        "2026年12月1日",
        "2026年11月28日",
        "2026年12月15日",
        "懇親会のお弁当※",
        "10%対象￥100,000￥10,000￥110,000",
        "8%対象（軽減税率）※￥3,000￥240￥3,240",
        "消費税額",
        "￥113,240",
        "トウキヨウテツクコミユニテイ",
    ):
        assert expected in text, expected


def test_the_english_receipt_pdf_says_what_the_page_says(renderer):
    text = _squeezed(_pdf_text(render_pdf(_receipt("en"))))
    for expected in (
        "Receipt",
        "RCP-2026-0001",
        f"Registrationnumber:{REGISTERED}",
        "Amountreceived",
        "¥113,240",
        "For協賛金",
        "9December2026",
        "Banktransfer",
        "8%(reducedrate)※¥3,000¥240¥3,240",
    ):
        assert expected in text, expected


def test_an_unregistered_issuers_pdf_says_so(renderer):
    pdf = render_pdf(_receipt("ja", issuer=_issuer(INVOICE_REGISTRATION_NUMBER="")))
    text = _squeezed(_pdf_text(pdf))
    assert "領収書" in text and "但し協賛金として" in text
    assert "適格請求書発行事業者の登録を受けていません" in text
    assert REGISTERED not in text and "登録番号" not in text


def test_hostile_and_very_long_names_never_break_the_pdf(renderer):
    long_name = "A" * 10_000
    document = _invoice(
        "ja",
        buyer=Party(name=long_name, address=HOSTILE, department="部" * 10_000),
        lines=(Line(HOSTILE, 1, 1_000), Line("B" * 10_000, 2, 500)),
    )
    pdf = render_pdf(document)
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) > 1
    # Wrapped, not run off the page: no line of the PDF comes near the name's length.
    assert max(len(line) for line in text.splitlines()) < 200
    assert _squeezed(text).count("A") >= 10_000
    assert "<script>alert(1)</script>" in text  # printed as text, never run
    assert "INV-2026-0001" in text and "￥2,200" in _squeezed(text)


def test_the_pdf_renderer_fetches_nothing_but_data_urls():
    fetcher = documents.offline_fetcher()
    for url in ("http://127.0.0.1/", "https://example.com/logo.png", "file:///etc/passwd"):
        with pytest.raises(ValueError, match="disallowed protocol"):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"


def test_only_long_runs_without_a_place_to_break_get_one_when_printed():
    assert documents.breakable("Tokyo Tech Community") == "Tokyo Tech Community"
    japanese = "一般社団法人東京テックコミュニティ" * 5
    assert documents.breakable(japanese) == japanese  # breaks anywhere already
    assert documents.breakable("A" * 45) == "\u200b".join(["A" * 20, "A" * 20, "A" * 5])
    accented = "e\u0301" * 30  # never between a letter and its accent
    assert all(
        not piece.startswith("\u0301") for piece in documents.breakable(accented).split("\u200b")
    )


def test_a_name_keeps_its_ideographic_space_and_loses_its_line_breaks():
    assert Party(name="山田\u3000太郎\r\n  株式会社\x00").name == "山田\u3000太郎 株式会社"


# --- statements -----------------------------------------------------------------------------------

GIFTS = (
    Line(description="2026年3月5日 寄付（奨学金）", quantity=1, unit_price_minor=5000, tax_rate=0),
    Line(description="2026年9月1日 毎月の寄付", quantity=1, unit_price_minor=3000, tax_rate=0),
)


def _statement(language: str = "ja", **changes):
    values = {
        "number": "DS-2026-000001",
        "issuer": _issuer(),
        "buyer": Party(name="佐藤 花子", person=True),
        "lines": GIFTS,
        "currency": "JPY",
        "language": language,
        "issued_on": date(2027, 1, 10),
        "period_start": date(2026, 1, 1),
        "period_end": date(2026, 12, 31),
    }
    values.update(changes)
    return build_statement(**values)


def test_a_statement_lists_each_gift_and_the_total_of_its_period_in_japanese(renderer):
    text = _text(render_html(_statement("ja")))
    for expected in (
        "寄付金受領明細書",
        "DS-2026-000001",
        "佐藤 花子 様",
        "2026年1月1日〜2026年12月31日",
        "2026年3月5日 寄付（奨学金）",
        "2026年9月1日 毎月の寄付",
        "￥8,000",
        "寄付金として",
        "寄付金は消費税の対象外です。",
    ):
        assert expected in text, expected
    # Gifts bear no consumption tax: no tax table, no "including tax".
    assert "税込金額" not in text and "（税込）" not in text and "税率" not in text


def test_a_statement_in_english_names_its_period_and_total(renderer):
    text = _text(render_html(_statement("en")))
    for expected in (
        "Statement of donations received",
        "1 January 2026 to 31 December 2026",
        "Total received",
        "¥8,000",
        "For donations",
        "Donations are not subject to consumption tax.",
    ):
        assert expected in text, expected
    assert "Consumption tax" not in text.replace("consumption tax.", "")


def test_a_statements_pdf_says_what_its_page_says(renderer):
    pdf = render_pdf(_statement("ja"))
    assert pdf.startswith(b"%PDF-")
    text = _squeezed(_pdf_text(pdf))
    for expected in ("寄付金受領明細書", "DS-2026-000001", "￥8,000", "2026年3月5日寄付（奨学金）"):
        assert _squeezed(expected) in text, expected


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"period_start": None}, "first and last day"),
        ({"period_start": date(2027, 1, 1)}, "cannot end before it starts"),
        ({"issued_on": date(2025, 12, 31)}, "issued before its period starts"),
        ({"payment_method": ""}, "how the money was paid"),
        ({"lines": ()}, "at least one Line"),
    ],
)
def test_a_statement_without_its_period_or_payment_is_refused(changes, reason):
    with pytest.raises(ValueError, match=reason):
        _statement(**changes)


def test_an_invoice_and_a_receipt_still_print_their_tax(renderer):
    assert "税込金額" in _text(render_html(_receipt("ja")))
    assert "税込金額" in _text(render_html(_invoice("ja")))
