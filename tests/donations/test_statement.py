"""The yearly statement of a donor's gifts: each payment of a calendar year (its day and what it
was for) and the total, the year counted in Tokyo (a gift at 23:30 on 31 December is that
year's), refunds taken off; as a printable page and as a PDF, from a gift's private link, from
an e-mail asked for on /donate/statement (sent to that address only, and the page says the same
whether the address gave or not), and from a signed-in person's /donate/mine."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

from pypdf import PdfReader

from community.payments import services as payments
from tests.conftest import link_in, text_of
from tests.donations.conftest import (
    MOMENT,
    TOKYO,
    form_token,
    gift_of,
    give,
    mails_to,
    manage_url_of,
    order_of,
    page_text,
)

THROUGH_2030 = {
    "starts_at": datetime(2029, 1, 1, tzinfo=TOKYO),
    "ends_at": datetime(2031, 1, 1, tzinfo=TOKYO),
}


def document_text(response) -> str:
    """What the printable page says: its style and tags left out, blanks folded."""
    page = re.sub(r"<style.*?</style>", " ", page_text(response), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def pdf_text(content: bytes) -> str:
    """The PDF's text with every blank removed (wrapped lines and letter spacing come out as
    blanks)."""
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def items_of(text: str) -> str:
    """The statement's lines, from its table's heading to its total."""
    return text[text.index("Item Amount") + len("Item Amount") : text.index(" Total ¥")]


def gives_at(frozen, browser, pay, moment: datetime, **form):
    """A gift made and paid at `moment` (Tokyo time), time standing there meanwhile."""
    frozen.move_to(moment)
    pay(give(browser, **form))
    return gift_of(form.get("email", "donor@example.com"))


def statement_of(browser, gift, year: int, suffix: str = "", language: str = ""):
    query = f"?lang={language}" if language else ""
    return browser.get(f"{manage_url_of(gift)}/statement/{year}{suffix}{query}")


def test_the_statement_lists_each_gift_of_the_year_and_their_total(
    frozen, app, browser, make_campaign, pay, mailbox
):
    donor = browser()
    gives_at(frozen, donor, pay, datetime(2029, 11, 3, 12, 0, tzinfo=TOKYO), other_amount="9000")
    gives_at(frozen, donor, pay, datetime(2030, 1, 15, 9, 0, tzinfo=TOKYO), other_amount="5000")
    campaign = make_campaign(name_en="New Venue", name_ja="新会場", **THROUGH_2030)
    gift = gives_at(
        frozen,
        donor,
        pay,
        datetime(2030, 3, 2, 18, 0, tzinfo=TOKYO),
        campaign=campaign.slug,
        other_amount="12000",
    )
    frozen.move_to(MOMENT)

    response = statement_of(donor, gift, 2030)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = document_text(response)
    assert "Statement of donations received" in text
    assert "Period 1 January 2030 to 31 December 2030" in text
    assert "Received from donor@example.com" in text
    assert items_of(text) == (
        " 15 January 2030 Donation ¥5,000 2 March 2030 Donation: New Venue ¥12,000"
    )
    assert "Total received ¥17,000" in text
    assert "Total ¥17,000" in text
    assert "Donations are not subject to consumption tax." in text
    assert "Total received ¥9,000" in document_text(statement_of(donor, gift, 2029))
    assert statement_of(donor, gift, 2028).status_code == 404  # no gift that year


def test_the_statement_in_japanese(frozen, app, browser, make_campaign, pay, mailbox):
    donor = browser("ja")
    campaign = make_campaign(name_en="New Venue", name_ja="新会場", **THROUGH_2030)
    gift = gives_at(
        frozen,
        donor,
        pay,
        datetime(2030, 2, 1, 10, 0, tzinfo=TOKYO),
        campaign=campaign.slug,
        other_amount="５０００",
        kind="monthly",
    )
    frozen.move_to(MOMENT)

    text = document_text(statement_of(donor, gift, 2030))

    assert "寄付金受領明細書" in text
    assert "期間 2030年1月1日〜2030年12月31日" in text
    assert "2030年2月1日 毎月の寄付（新会場） ￥5,000" in text
    assert "受領金額の合計 ￥5,000" in text
    assert "Statement of donations received" in document_text(
        statement_of(donor, gift, 2030, language="en")
    )


def test_a_gift_late_on_new_years_eve_in_tokyo_counts_in_that_year(
    frozen, app, browser, pay, mailbox
):
    donor = browser()
    # 23:30 in Tokyo on 31 December is 14:30 UTC; 00:10 on 1 January is still 31 December in UTC.
    late = gives_at(
        frozen, donor, pay, datetime(2029, 12, 31, 23, 30, tzinfo=TOKYO), other_amount="3000"
    )
    gives_at(frozen, donor, pay, datetime(2030, 1, 1, 0, 10, tzinfo=TOKYO), other_amount="4000")
    frozen.move_to(MOMENT)

    last_year = document_text(statement_of(donor, late, 2029))
    this_year = document_text(statement_of(donor, late, 2030))

    assert items_of(last_year) == " 31 December 2029 Donation ¥3,000"
    assert "Total received ¥3,000" in last_year
    assert items_of(this_year) == " 1 January 2030 Donation ¥4,000"
    assert "Total received ¥4,000" in this_year
    page = page_text(donor.get(manage_url_of(late)))
    assert "/statement/2030" in page and "/statement/2029" in page


def test_refunds_are_taken_off_the_statement(frozen, app, browser, pay, stripe_delivers, mailbox):
    donor = browser()
    kept = gives_at(
        frozen, donor, pay, datetime(2030, 2, 1, 10, 0, tzinfo=TOKYO), other_amount="8000"
    )
    returned = gives_at(
        frozen, donor, pay, datetime(2030, 3, 1, 10, 0, tzinfo=TOKYO), other_amount="6000"
    )
    frozen.move_to(MOMENT)

    payments.refund_order(order_of(kept), 3000)
    payments.refund_order(order_of(returned))
    assert all(delivery.status == 200 for delivery in stripe_delivers.flush())

    text = document_text(statement_of(donor, kept, 2030))
    assert items_of(text) == " 1 February 2030 Donation ¥5,000"  # 8,000 less 3,000
    assert "Total received ¥5,000" in text


def test_a_year_refunded_in_full_has_no_statement(
    frozen, app, browser, pay, stripe_delivers, mailbox
):
    donor = browser()
    gift = gives_at(frozen, donor, pay, MOMENT - timedelta(days=10), other_amount="8000")

    payments.refund_order(order_of(gift))
    stripe_delivers.flush()

    assert statement_of(donor, gift, 2030).status_code == 404
    assert "/statement/2030" not in page_text(donor.get(manage_url_of(gift)))


def test_the_statement_downloads_as_a_pdf(frozen, app, browser, pay, mailbox):
    donor = browser()
    gives_at(frozen, donor, pay, datetime(2030, 1, 20, 10, 0, tzinfo=TOKYO), other_amount="2500")
    gift = gives_at(
        frozen, donor, pay, datetime(2030, 4, 5, 10, 0, tzinfo=TOKYO), other_amount="1,500"
    )
    frozen.move_to(MOMENT)

    response = statement_of(donor, gift, 2030, ".pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    number = re.search(r"DS-2030-\d{6}", document_text(statement_of(donor, gift, 2030))).group()
    assert response.headers["Content-Disposition"] == f'attachment; filename="{number}.pdf"'
    text = pdf_text(response.data)
    assert number in text
    assert "20January2030Donation¥2,500" in text
    assert "5April2030Donation¥1,500" in text
    assert "Total¥4,000" in text
    japanese = pdf_text(statement_of(donor, gift, 2030, ".pdf", language="ja").data)
    assert "2030年1月20日寄付￥2,500" in japanese
    assert "合計￥4,000" in japanese


def test_the_statement_is_numbered_the_same_whenever_it_is_asked_for(
    frozen, app, browser, pay, mailbox
):
    donor = browser()
    first = gives_at(frozen, donor, pay, MOMENT - timedelta(days=20))
    latest = gives_at(frozen, donor, pay, MOMENT - timedelta(days=2))
    frozen.move_to(MOMENT)

    numbers = {
        re.search(r"DS-2030-\d{6}", document_text(statement_of(donor, gift, 2030))).group()
        for gift in (first, latest, first)
    }

    assert numbers == {f"DS-2030-{first.id:06d}"}


def ask_for_statement(browser, email: str, year: int):
    data = {
        "csrf_token": form_token(browser, "/donate/statement"),
        "email": email,
        "year": str(year),
    }
    return browser.post("/donate/statement", data=data)


SENT = (
    "If gifts were made from this address in that year, we have sent it a link to their statement."
)


def test_a_statement_asked_for_by_e_mail_goes_to_the_address_that_gave(
    frozen, app, browser, pay, mailbox
):
    gives_at(
        frozen, browser(), pay, datetime(2030, 2, 14, 10, 0, tzinfo=TOKYO), other_amount="7000"
    )
    gives_at(
        frozen,
        browser(),
        pay,
        datetime(2030, 3, 1, 10, 0, tzinfo=TOKYO),
        other_amount="9999",
        email="someone.else@example.com",
    )
    frozen.move_to(MOMENT)
    mailbox.clear()
    asker = browser()

    answer = ask_for_statement(asker, "Donor@Example.com", 2030)

    assert answer.status_code == 302
    assert SENT in page_text(asker.get(answer.headers["Location"]))
    [message] = mails_to(mailbox, "donor@example.com")
    assert message["Subject"] == "Your statement of donations for 2030"
    assert [m["To"] for m in mailbox.messages] == ["donor@example.com"]  # nobody else
    statement = asker.get(link_in(message, "/statement/2030"))
    assert statement.status_code == 200
    text = document_text(statement)
    assert items_of(text) == " 14 February 2030 Donation ¥7,000"
    assert "¥9,999" not in text
    assert "9999" not in text_of(message)


def test_an_address_that_gave_nothing_that_year_gets_no_mail_and_the_same_answer(
    frozen, app, browser, pay, mailbox
):
    gives_at(frozen, browser(), pay, datetime(2029, 6, 1, 10, 0, tzinfo=TOKYO))
    frozen.move_to(MOMENT)
    mailbox.clear()
    answers = []
    for email, year in (
        ("nobody@example.com", 2030),  # never gave
        ("donor@example.com", 2030),  # gave, in another year
        ("donor@example.com", 2028),
    ):
        asker = browser()
        answer = ask_for_statement(asker, email, year)
        assert answer.status_code == 302
        answers.append(page_text(asker.get(answer.headers["Location"])))

    assert all(SENT in page for page in answers)
    assert len({re.sub(r'value="[^"]*"', "", page) for page in answers}) == 1  # the same page
    frozen.move_to(MOMENT + timedelta(seconds=2))
    assert mailbox.messages == []


def test_a_statement_of_a_pending_or_abandoned_gift_is_never_sent(
    frozen, app, browser, stripe_delivers, mailbox
):
    from tests.donations.conftest import session_id_of

    stripe_delivers.expire(session_id_of(give(browser(), email="gone@example.com")))
    give(browser(), email="waiting@example.com")
    mailbox.clear()

    for email in ("gone@example.com", "waiting@example.com"):
        assert ask_for_statement(browser(), email, 2030).status_code == 302

    assert mailbox.messages == []


def test_a_signed_in_person_sees_their_gifts_and_statements(
    frozen, app, browser_of, browser, make_user, pay, mailbox
):
    user = make_user(email="member@example.com")
    for moment, amount in (
        (datetime(2029, 12, 31, 23, 30, tzinfo=TOKYO), "3000"),
        (datetime(2030, 3, 3, 10, 0, tzinfo=TOKYO), "4000"),
    ):
        frozen.move_to(moment)
        pay(give(browser_of(user), other_amount=amount))
    # Without an account, from the same address: the address's, not the account's.
    gives_at(
        frozen,
        browser(),
        pay,
        datetime(2030, 3, 4, 10, 0, tzinfo=TOKYO),
        other_amount="5555",
        email="member@example.com",
    )
    frozen.move_to(MOMENT)
    signed_in = browser_of(user)

    mine = signed_in.get("/donate/mine")

    assert mine.status_code == 200
    text = document_text(mine)
    assert "¥4,000" in text and "¥3,000" in text
    assert "¥5,555" not in text
    assert "/donate/mine/statement/2030" in page_text(mine)
    assert "/donate/mine/statement/2029" in page_text(mine)
    this_year = document_text(signed_in.get("/donate/mine/statement/2030"))
    assert items_of(this_year) == " 3 March 2030 Donation ¥4,000"
    assert "Total received ¥4,000" in this_year
    last_year = document_text(signed_in.get("/donate/mine/statement/2029"))
    assert items_of(last_year) == " 31 December 2029 Donation ¥3,000"
    pdf = signed_in.get("/donate/mine/statement/2030.pdf")
    assert pdf.mimetype == "application/pdf"
    assert "3March2030Donation¥4,000" in pdf_text(pdf.data)
    assert signed_in.get("/donate/mine/statement/2028").status_code == 404


def test_someone_elses_statements_are_not_on_my_page(
    frozen, app, browser_of, make_user, pay, mailbox
):
    giver = browser_of(make_user(email="giver@example.com"))
    gives_at(frozen, giver, pay, MOMENT - timedelta(days=3), other_amount="4000")
    frozen.move_to(MOMENT)
    other = browser_of(make_user(email="other@example.com"))

    page = page_text(other.get("/donate/mine"))

    assert "You have not given while signed in yet." in page
    assert "¥4,000" not in page
    assert other.get("/donate/mine/statement/2030").status_code == 404
    assert other.get("/donate/mine/statement/2030.pdf").status_code == 404


def test_my_gifts_need_signing_in(app, browser):
    for path in ("/donate/mine", "/donate/mine/statement/2030", "/donate/mine/statement/2030.pdf"):
        answer = browser().get(path)
        assert answer.status_code == 302
        assert "/account/login" in answer.headers["Location"]
