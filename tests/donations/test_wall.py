"""The donor wall on /donate and on a campaign's page: each gift as its donor chose to appear
(name and amount, name only, or anonymous, the default), only once its payment is confirmed and
never once refunded in full; never an e-mail address or a message; a donor changes their choice
through their gift's private link and the wall follows; a name is shown as text, never as
markup."""

from __future__ import annotations

import re

from tests.donations.conftest import (
    form_token,
    fresh,
    gift_of,
    give,
    manage_url_of,
    order_of,
    page_text,
    session_id_of,
)
from tests.payments.fake_stripe import FakeStripe


def wall_shown(response) -> list[tuple[str, str | None]]:
    """The wall's entries as the page shows them, newest first: (who, amount or None)."""
    page = response.get_data(as_text=True)
    start = page.index('<section class="donor-wall"')
    section = page[start : page.index("</section>", start)]
    entries = []
    for item in re.findall(r"<li>(.*?)</li>", section, re.S):
        who = re.search(r'<span class="wall-donor">(.*?)</span>', item, re.S).group(1)
        amount = re.search(r'<span class="wall-amount">(.*?)</span>', item, re.S)
        entries.append((who, amount.group(1) if amount else None))
    return entries


def walls(browser, campaign=None) -> list[tuple[str, str | None]]:
    """The wall of /donate, checked to be the same on the campaign's page when given."""
    shown = wall_shown(browser.get("/donate"))
    if campaign is not None:
        assert wall_shown(browser.get(f"/donate/campaigns/{campaign.slug}")) == shown
    return shown


def test_each_gift_appears_as_its_donor_chose(app, browser, make_campaign, pay, mailbox):
    campaign = make_campaign()
    for email, wall, name, amount in (
        ("hana@example.com", "name_amount", "Hana Sato", "5000"),
        ("ken@example.com", "name", "Ken Ito", "7000"),
        ("quiet@example.com", "anonymous", "", "9000"),
    ):
        pay(
            give(
                browser(),
                campaign=campaign.slug,
                email=email,
                wall=wall,
                donor_name=name,
                other_amount=amount,
            )
        )

    assert walls(browser(), campaign) == [
        ("Anonymous", None),
        ("Ken Ito", None),
        ("Hana Sato", "¥5,000"),
    ]


def test_a_donor_who_chooses_nothing_is_anonymous(app, browser, pay, mailbox):
    donor = browser()
    form = page_text(donor.get("/donate"))
    assert re.search(
        r'<input checked id="wall-\d" name="wall" type="radio" value="anonymous">', form
    )

    # The wall's choice left out of the form, a name given all the same.
    pay(give(donor, wall=None, donor_name="Would Be Shown", other_amount="5000"))

    assert fresh(gift_of("donor@example.com")).wall == "anonymous"
    assert walls(browser()) == [("Anonymous", None)]
    assert "Would Be Shown" not in page_text(browser().get("/donate"))


def test_a_named_monthly_gift_shows_its_amount_by_the_month(app, browser, pay, mailbox):
    pay(give(browser(), kind="monthly", wall="name_amount", donor_name="Mei", other_amount="2000"))
    pay(give(browser(), kind="monthly", wall="name", donor_name="Jun", email="jun@example.com"))

    page = page_text(browser().get("/donate"))

    assert walls(browser()) == [("Jun", None), ("Mei", "¥2,000/month")]
    assert "(monthly)" in page  # Jun's gift is monthly, its amount not shown


def test_the_wall_never_shows_an_address_or_a_message(app, browser, make_campaign, pay, mailbox):
    campaign = make_campaign()
    for email, wall, name in (
        ("secret.one@example.com", "name_amount", "Public Name"),
        ("secret.two@example.com", "name", "Other Name"),
        ("secret.three@example.com", "anonymous", ""),
    ):
        pay(
            give(
                browser(),
                campaign=campaign.slug,
                email=email,
                wall=wall,
                donor_name=name,
                message="Only for the organisers: my phone is 090-0000-0000",
            )
        )

    for path in ("/donate", f"/donate/campaigns/{campaign.slug}"):
        page = page_text(browser().get(path))
        assert "@example.com" not in page
        assert "secret" not in page
        assert "090-0000-0000" not in page
        assert "Public Name" in page


def test_only_confirmed_gifts_are_on_the_wall(
    app, browser, make_campaign, stripe_delivers: FakeStripe, pay, mailbox
):
    campaign = make_campaign()

    def named(name: str, email: str):
        return give(browser(), campaign=campaign.slug, wall="name", donor_name=name, email=email)

    waiting = named("Still Paying", "waiting@example.com")
    expired = named("Never Paid", "expired@example.com")
    held = named("Paid At Stripe", "held@example.com")
    stripe_delivers.expire(session_id_of(expired))
    stripe_delivers.hold_deliveries()
    stripe_delivers.complete(session_id_of(held))  # its confirmation not yet here

    assert walls(browser(), campaign) == []
    assert "Be the first to give." in page_text(browser().get("/donate"))

    stripe_delivers.release()
    assert walls(browser(), campaign) == [("Paid At Stripe", None)]
    assert session_id_of(waiting)  # the first one is still at its checkout


def test_a_gift_refunded_in_full_leaves_the_wall_and_a_partly_refunded_one_stays(
    app, browser, pay, stripe_delivers, mailbox
):
    from community.payments import services as payments

    pay(give(browser(), wall="name", donor_name="Refunded Whole", email="a@example.com"))
    pay(give(browser(), wall="name", donor_name="Refunded Part", email="b@example.com"))
    assert walls(browser()) == [("Refunded Part", None), ("Refunded Whole", None)]

    payments.refund_order(order_of(gift_of("a@example.com")))
    payments.refund_order(order_of(gift_of("b@example.com")), 1000)
    stripe_delivers.flush()

    assert walls(browser()) == [("Refunded Part", None)]


def test_a_campaigns_wall_shows_only_its_own_gifts(app, browser, make_campaign, pay, mailbox):
    venue, scholarships = make_campaign(), make_campaign()
    pay(give(browser(), campaign=venue.slug, wall="name", donor_name="For The Venue"))
    pay(
        give(
            browser(),
            campaign=scholarships.slug,
            wall="name",
            donor_name="For Scholarships",
            email="s@example.com",
        )
    )
    pay(give(browser(), wall="name", donor_name="For Everything", email="e@example.com"))

    assert wall_shown(browser().get(f"/donate/campaigns/{venue.slug}")) == [("For The Venue", None)]
    assert wall_shown(browser().get(f"/donate/campaigns/{scholarships.slug}")) == [
        ("For Scholarships", None)
    ]
    assert [who for who, _ in walls(browser())] == [
        "For Everything",
        "For Scholarships",
        "For The Venue",
    ]


def change_wall(browser, gift, **form):
    """The donor's choice for the wall, changed on the gift's private page."""
    page = manage_url_of(gift)
    data = {"csrf_token": form_token(browser, page), **form}
    return browser.post(f"{page}/wall", data=data)


def test_a_donor_changes_their_place_on_the_wall_through_their_private_link(
    app, browser, make_campaign, pay, mailbox
):
    campaign = make_campaign()
    donor = browser()
    pay(give(donor, campaign=campaign.slug, other_amount="6000"))
    gift = gift_of("donor@example.com")
    assert walls(browser(), campaign) == [("Anonymous", None)]

    named = change_wall(donor, gift, wall="name_amount", donor_name="Aiko Tanaka")

    assert named.status_code == 302
    assert "Your choice for the donor wall is saved." in page_text(
        donor.get(named.headers["Location"])
    )
    assert walls(browser(), campaign) == [("Aiko Tanaka", "¥6,000")]

    change_wall(donor, gift, wall="name", donor_name="A. Tanaka")
    assert walls(browser(), campaign) == [("A. Tanaka", None)]

    change_wall(donor, gift, wall="anonymous", donor_name="")
    assert walls(browser(), campaign) == [("Anonymous", None)]
    assert "Tanaka" not in page_text(browser().get("/donate"))


def test_appearing_by_name_needs_a_name(app, browser, pay, mailbox):
    donor = browser()

    refused = give(donor, wall="name", donor_name="   ")

    assert refused.status_code == 422
    assert "Give the name to show on the donor wall, or choose to appear anonymously." in (
        page_text(refused)
    )
    assert gift_of("donor@example.com") is None

    pay(give(donor))
    gift = gift_of("donor@example.com")
    answer = change_wall(donor, gift, wall="name_amount", donor_name="")
    assert "Give the name to show on the donor wall" in page_text(
        donor.get(answer.headers["Location"])
    )
    assert fresh(gift).wall == "anonymous"
    assert walls(browser()) == [("Anonymous", None)]


def test_someone_elses_link_cannot_change_a_gifts_place_on_the_wall(app, browser, pay, mailbox):
    donor, stranger = browser(), browser()
    pay(give(donor, wall="name", donor_name="Real Donor"))
    gift = gift_of("donor@example.com")
    own = manage_url_of(gift)
    token = form_token(stranger, "/donate")
    data = {"csrf_token": token, "wall": "name", "donor_name": "Hijacked"}

    wrong_key = stranger.post(f"{own[: own.rindex('/')]}/{'0' * 32}/wall", data=data)

    assert wrong_key.status_code == 404
    assert fresh(gift).donor_name == "Real Donor"
    assert walls(browser()) == [("Real Donor", None)]


HOSTILE = [
    '<script>alert("wall")</script>',
    '"><img src=x onerror=alert(1)>',
    "{{ 7 * 7 }} ${7*7}",
    "Ａｌｉｃｅ\u202e😀",
]


def test_hostile_names_are_shown_as_text(app, browser, pay, mailbox):
    for number, name in enumerate(HOSTILE):
        pay(give(browser(), wall="name", donor_name=name, email=f"h{number}@example.com"))

    response = browser().get("/donate")

    raw = response.get_data(as_text=True)
    assert "<script>alert" not in raw
    assert "<img src=x" not in raw
    assert "&lt;script&gt;alert(&#34;wall&#34;)&lt;/script&gt;" in raw
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in raw
    assert "49" not in "".join(who for who, _ in wall_shown(response))
    shown = page_text(response)
    for name in HOSTILE:
        assert name in shown
