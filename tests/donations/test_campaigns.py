"""Campaigns: a gift made to a campaign counts toward it once Stripe confirms its payment, and
only then (its page and /donate show the bar, the donors and the partner's match); a partner
matches one for one up to its cap; totals stay right when two checkouts are completed at the
same moment and when Stripe repeats its events; a refund takes its money off the raised and
matched totals; a campaign that has ended takes no gift, and a monthly gift that outlives its
campaign goes on as general giving."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

from sqlalchemy import func, select

from community.core.db import db, utcnow
from community.donations.models import Donation, DonationPayment
from community.payments import services as payments
from community.payments.models import Order
from tests.donations.conftest import (
    GIFT_DEFAULTS,
    MOMENT,
    form_token,
    fresh,
    gift_of,
    give,
    order_of,
    page_text,
    payments_of,
    session_id_of,
)


def progress_shown(response, campaign) -> dict:
    """The campaign's progress as the page shows it: the figures beside the bar (raised with
    the match, of the goal), the bar's percent, the donors and what the partner matched."""
    page = page_text(response)
    start = page.index(f'id="progress-{campaign.id}"')
    block = page[start : page.index("</div>", start)]
    text = " ".join(re.sub(r"<[^>]+>", " ", block).split())
    figures = re.search(r"(¥[\d,]+) of (¥[\d,]+)", text)
    bar = re.search(r'<progress[^>]*value="(\d+)"', block)
    donors = re.search(r"(\d+) donors?\b", text)
    matched = re.search(r"(¥[\d,]+) matched so far", text)
    return {
        "total": figures.group(1),
        "goal": figures.group(2),
        "percent": int(bar.group(1)),
        "donors": int(donors.group(1)),
        "matched": matched.group(1) if matched else None,
    }


def on_both_pages(browser, campaign) -> dict:
    """The progress shown on the campaign's page, checked to be the same on /donate."""
    own_page = browser.get(f"/donate/campaigns/{campaign.slug}")
    assert own_page.status_code == 200
    shown = progress_shown(own_page, campaign)
    assert progress_shown(browser.get("/donate"), campaign) == shown
    return shown


def counted(campaign) -> list[tuple[int, int | None]]:
    """Each recorded payment's (amount less refunds, campaign it counts toward), oldest first."""
    db.session.rollback()
    rows = db.session.execute(
        select(DonationPayment.amount_minor - DonationPayment.refunded_minor)
        .add_columns(DonationPayment.counted_campaign_id)
        .order_by(DonationPayment.id)
    )
    return [tuple(row) for row in rows]


def test_a_gift_to_a_campaign_counts_toward_it_only_once_stripe_confirms_the_payment(
    app, browser, make_campaign, stripe_delivers, mailbox
):
    campaign = make_campaign(goal_minor=100_000)
    donor = browser()
    before = on_both_pages(donor, campaign)
    assert before == {
        "total": "¥0",
        "goal": "¥100,000",
        "percent": 0,
        "donors": 0,
        "matched": None,
    }

    response = give(donor, campaign=campaign.slug, other_amount="30000")

    gift = gift_of("donor@example.com")
    assert (gift.campaign_id, gift.status, gift.amount_minor) == (campaign.id, "pending", 30000)
    assert on_both_pages(donor, campaign) == before  # not paid: nothing counts
    stripe_delivers.hold_deliveries()
    stripe_delivers.complete(session_id_of(response))
    assert on_both_pages(donor, campaign) == before  # paid at Stripe, not yet confirmed to us

    [delivery] = stripe_delivers.release()

    assert delivery.status == 200
    assert fresh(gift).status == "paid"
    assert on_both_pages(donor, campaign) == {
        "total": "¥30,000",
        "goal": "¥100,000",
        "percent": 30,
        "donors": 1,
        "matched": None,
    }
    assert [(p.amount_minor, p.counted_campaign_id) for p in payments_of(gift)] == [
        (30000, campaign.id)
    ]


def test_a_gift_whose_checkout_expires_unpaid_never_counts(
    app, browser, make_campaign, stripe_delivers, mailbox
):
    campaign = make_campaign()
    donor = browser()
    response = give(donor, campaign=campaign.slug, other_amount="30000")

    stripe_delivers.expire(session_id_of(response))

    assert fresh(gift_of("donor@example.com")).status == "abandoned"
    assert on_both_pages(donor, campaign)["total"] == "¥0"
    assert counted(campaign) == []


def test_general_giving_does_not_count_toward_a_running_campaign(
    app, browser, make_campaign, pay, mailbox
):
    campaign = make_campaign()
    donor = browser()

    pay(give(donor, other_amount="20000"))  # from /donate, to the community's work

    gift = gift_of("donor@example.com")
    assert (gift.campaign_id, fresh(gift).status) == (None, "paid")
    assert counted(campaign) == [(20000, None)]
    assert on_both_pages(donor, campaign)["total"] == "¥0"


def test_a_donor_who_gives_twice_is_counted_once_among_the_donors(
    app, browser, make_campaign, pay, mailbox
):
    campaign = make_campaign()
    donor = browser()
    pay(give(donor, campaign=campaign.slug, other_amount="3000"))
    pay(give(donor, campaign=campaign.slug, other_amount="4000", email="DONOR@example.com"))
    pay(give(browser(), campaign=campaign.slug, other_amount="5000", email="other@example.com"))

    shown = on_both_pages(donor, campaign)

    assert (shown["total"], shown["percent"], shown["donors"]) == ("¥12,000", 12, 3 - 1)


def test_a_partner_matches_each_gift_one_for_one_up_to_its_cap(
    app, browser, make_campaign, pay, mailbox
):
    campaign = make_campaign(
        goal_minor=50_000, match_partner_name="Acme Corporation", match_cap_minor=8000
    )
    page = page_text(browser().get(f"/donate/campaigns/{campaign.slug}"))
    assert "Acme Corporation matches every gift up to ¥8,000: ¥0 matched so far." in page

    pay(give(browser(), campaign=campaign.slug, other_amount="5000", email="a@example.com"))
    shown = on_both_pages(browser(), campaign)
    # 5,000 given and 5,000 matched: 10,000 of 50,000.
    assert (shown["total"], shown["matched"], shown["percent"]) == ("¥10,000", "¥5,000", 20)

    pay(give(browser(), campaign=campaign.slug, other_amount="5000", email="b@example.com"))
    shown = on_both_pages(browser(), campaign)
    # 10,000 given; the match stops at its cap of 8,000.
    assert (shown["total"], shown["matched"], shown["percent"]) == ("¥18,000", "¥8,000", 36)
    assert shown["donors"] == 2


def test_the_bar_stops_at_a_hundred_percent_when_the_goal_is_passed(
    app, browser, make_campaign, pay, mailbox
):
    campaign = make_campaign(goal_minor=10_000, match_partner_name="Acme", match_cap_minor=5000)

    pay(give(browser(), campaign=campaign.slug, other_amount="8000"))

    shown = on_both_pages(browser(), campaign)
    assert (shown["total"], shown["percent"], shown["matched"]) == ("¥13,000", 100, "¥5,000")


def test_two_checkouts_completed_at_the_same_moment_are_each_counted_once(
    app, browser, make_campaign, stripe_delivers, writers_meet, mailbox
):
    campaign = make_campaign(goal_minor=100_000, match_partner_name="Acme", match_cap_minor=6000)
    sessions = [
        session_id_of(give(browser(), campaign=campaign.slug, other_amount=amount, email=email))
        for amount, email in (("4000", "a@example.com"), ("5000", "b@example.com"))
    ]
    db.session.commit()
    writers_meet(2)  # each webhook has read its order as unpaid before either writes
    deliveries = []

    def complete(session_id):
        deliveries.extend(stripe_delivers.complete(session_id))

    threads = [threading.Thread(target=complete, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(d.status for d in deliveries) == [200, 200]
    assert sorted(counted(campaign)) == [(4000, campaign.id), (5000, campaign.id)]
    assert {fresh(gift_of(e)).status for e in ("a@example.com", "b@example.com")} == {"paid"}
    shown = on_both_pages(browser(), campaign)
    assert (shown["total"], shown["matched"], shown["donors"]) == ("¥15,000", "¥6,000", 2)

    # Stripe repeats both events, two of each at the same moment: nothing more is counted.
    for delivery in list(deliveries):
        again = stripe_delivers.deliver(delivery, times=2, concurrently=True)
        assert [d.status for d in again] == [200, 200]
    assert sorted(amount for amount, _ in counted(campaign)) == [4000, 5000]
    assert on_both_pages(browser(), campaign) == shown


def test_a_repeated_confirmation_counts_the_payment_once(
    app, browser, make_campaign, pay, stripe_delivers, mailbox
):
    campaign = make_campaign()
    [completed] = pay(give(browser(), campaign=campaign.slug, other_amount="7000"))

    again = stripe_delivers.deliver(completed, times=3, concurrently=True)

    assert [d.status for d in again] == [200, 200, 200]
    assert counted(campaign) == [(7000, campaign.id)]
    assert on_both_pages(browser(), campaign)["total"] == "¥7,000"
    assert len(mailbox.to("donor@example.com")) <= 1  # one thanks, whatever the repeats


def refund(gift, amount_minor: int | None = None) -> None:
    """An organiser gives money back through payments; Stripe confirms it (charge.refunded)."""
    payments.refund_order(order_of(gift), amount_minor)


def test_a_refund_takes_its_money_off_the_raised_and_matched_totals(
    app, browser, make_campaign, pay, stripe_delivers, mailbox
):
    campaign = make_campaign(goal_minor=50_000, match_partner_name="Acme", match_cap_minor=8000)
    pay(give(browser(), campaign=campaign.slug, other_amount="5000", email="a@example.com"))
    pay(give(browser(), campaign=campaign.slug, other_amount="5000", email="b@example.com"))
    first, second = gift_of("a@example.com"), gift_of("b@example.com")
    shown = on_both_pages(browser(), campaign)
    assert (shown["total"], shown["matched"], shown["donors"]) == ("¥18,000", "¥8,000", 2)

    refund(first, 2000)
    assert on_both_pages(browser(), campaign) == shown  # asked of Stripe, not yet confirmed
    assert [d.status for d in stripe_delivers.flush()] == [200]

    # 8,000 given, matched in full: 16,000.
    shown = on_both_pages(browser(), campaign)
    assert (shown["total"], shown["matched"], shown["donors"]) == ("¥16,000", "¥8,000", 2)
    assert [p.refunded_minor for p in payments_of(first)] == [2000]

    refund(second)
    assert all(d.status == 200 for d in stripe_delivers.flush())

    # 3,000 given, 3,000 matched; a gift refunded in full has no donor left.
    shown = on_both_pages(browser(), campaign)
    assert (shown["total"], shown["matched"], shown["donors"]) == ("¥6,000", "¥3,000", 1)
    assert shown["percent"] == 12
    assert sorted(counted(campaign)) == [(0, campaign.id), (3000, campaign.id)]


def test_a_refund_made_in_stripes_dashboard_lowers_the_totals_once(
    app, browser, make_campaign, pay, stripe_delivers, mailbox
):
    campaign = make_campaign(match_partner_name="Acme", match_cap_minor=10_000)
    pay(give(browser(), campaign=campaign.slug, other_amount="9000"))
    gift = gift_of("donor@example.com")
    intent_id = order_of(gift).payments[0].payment_intent_id

    [refunded] = stripe_delivers.refund_from_dashboard(intent_id, amount=4000)
    stripe_delivers.deliver(refunded, times=2)

    assert refunded.status == 200
    assert [p.refunded_minor for p in payments_of(gift)] == [4000]
    shown = on_both_pages(browser(), campaign)
    assert (shown["total"], shown["matched"]) == ("¥10,000", "¥5,000")


def ended_campaign(make_campaign):
    now = utcnow().replace(microsecond=0)
    return make_campaign(starts_at=now - timedelta(days=30), ends_at=now - timedelta(hours=1))


def give_from_donate(browser, slug: str):
    """The gift form of /donate posted naming this campaign (as a page shown before it ended)."""
    data = {**GIFT_DEFAULTS, "campaign": slug, "csrf_token": form_token(browser, "/donate")}
    return browser.post("/donate", data=data)


def nothing_was_created() -> bool:
    db.session.rollback()
    donations = db.session.scalar(select(func.count()).select_from(Donation))
    orders = db.session.scalar(select(func.count()).select_from(Order))
    return donations == 0 and orders == 0


def test_a_campaign_that_has_ended_shows_its_result_and_no_gift_form(
    app, browser, make_campaign, mailbox
):
    campaign = ended_campaign(make_campaign)

    page = browser().get(f"/donate/campaigns/{campaign.slug}")

    assert page.status_code == 200
    text = page_text(page)
    assert "This campaign ended on" in text
    assert "Continue to payment" not in text
    assert 'href="/donate"' in text  # to general giving instead
    assert f"/donate/campaigns/{campaign.slug}" not in page_text(browser().get("/donate"))


def test_a_gift_to_a_campaign_that_has_ended_is_refused_and_creates_nothing(
    app, browser, make_campaign, stripe_delivers, mailbox
):
    campaign = ended_campaign(make_campaign)

    refused = give(browser(), campaign=campaign.slug)
    through_donate = give_from_donate(browser(), campaign.slug)

    for response in (refused, through_donate):
        assert response.status_code == 422
        assert "This campaign has ended: it no longer takes gifts." in page_text(response)
    assert nothing_was_created()
    assert stripe_delivers.requests_to("POST", "/v1/checkout/sessions") == []


def test_a_campaign_that_ends_while_its_form_is_open_refuses_the_gift(
    frozen, app, browser, make_campaign, stripe_delivers, mailbox
):
    campaign = make_campaign(ends_at=MOMENT + timedelta(minutes=5))
    donor = browser()
    assert "Continue to payment" in page_text(donor.get(f"/donate/campaigns/{campaign.slug}"))
    frozen.move_to(MOMENT + timedelta(minutes=6))

    response = give(donor, campaign=campaign.slug)

    assert response.status_code == 422
    assert "This campaign has ended: it no longer takes gifts." in page_text(response)
    assert nothing_was_created()


def test_a_gift_made_while_its_campaign_ran_counts_toward_it_even_if_paid_just_after(
    frozen, app, browser, make_campaign, pay, mailbox
):
    campaign = make_campaign(ends_at=MOMENT + timedelta(minutes=5))
    response = give(browser(), campaign=campaign.slug, other_amount="6000")
    frozen.move_to(MOMENT + timedelta(minutes=20))  # the donor took their time at Stripe

    pay(response)

    assert counted(campaign) == [(6000, campaign.id)]
    assert on_both_pages_ended(browser(), campaign)["total"] == "¥6,000"


def on_both_pages_ended(browser, campaign) -> dict:
    """An ended campaign is on its own page only (not among /donate's running ones)."""
    return progress_shown(browser.get(f"/donate/campaigns/{campaign.slug}"), campaign)


def test_a_monthly_gifts_payments_after_its_campaign_ended_count_as_general_giving(
    frozen, app, browser, make_campaign, pay, renew, mailbox
):
    campaign = make_campaign(ends_at=MOMENT + timedelta(days=20))
    pay(give(browser(), campaign=campaign.slug, kind="monthly", other_amount="3000"))
    gift = gift_of("donor@example.com")
    assert fresh(gift).status == "active"

    frozen.move_to(MOMENT + timedelta(days=31))
    assert all(d.status == 200 for d in renew(gift))

    assert [(p.amount_minor, p.counted_campaign_id) for p in payments_of(gift)] == [
        (3000, campaign.id),
        (3000, None),
    ]
    assert fresh(gift).campaign_id == campaign.id  # still the campaign's gift
    shown = on_both_pages_ended(browser(), campaign)
    assert (shown["total"], shown["donors"]) == ("¥3,000", 1)


def test_a_monthly_gifts_payments_while_its_campaign_runs_count_toward_it(
    frozen, app, browser, make_campaign, pay, renew, mailbox
):
    campaign = make_campaign(ends_at=MOMENT + timedelta(days=90))
    pay(give(browser(), campaign=campaign.slug, kind="monthly", other_amount="3000"))
    gift = gift_of("donor@example.com")

    frozen.move_to(MOMENT + timedelta(days=31))
    renew(gift)
    renew(gift, paid=False)  # a failed month gives nothing

    assert [(p.amount_minor, p.counted_campaign_id) for p in payments_of(gift)] == [
        (3000, campaign.id),
        (3000, campaign.id),
    ]
    shown = on_both_pages(browser(), campaign)
    assert (shown["total"], shown["donors"]) == ("¥6,000", 1)
