"""Membership's timed jobs under frozen time: renewal reminders 30 and 7 days before the end (once
each, none for a subscription that renews itself), the grace after the end, the expiry after the
grace (benefits stop at the grace's end whether or not the job has run), and joins whose checkout
outlived its hold abandoned once the checkout is closed at Stripe. Each job run twice changes
nothing twice, and run twice at once (two threads, each with its own app context and database
session, both having read before either writes) sends each e-mail once and records each step
once."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from community.accounts.membership import has_benefit, is_member
from community.core.db import db
from community.membership import jobs, services
from tests.conftest import link_in, text_of
from tests.membership.conftest import TOKYO, fresh, join, kinds, session_id_of

JOINED_ENDS = datetime(2031, 5, 10, 10, 0, tzinfo=TOKYO)
GRACE_ENDS = JOINED_ENDS + timedelta(days=14)
REMINDER = "Your membership ends soon: renew it"
IN_GRACE = "Your membership has ended: renew it to keep your benefits"
EXPIRED = "Your membership has expired"


def subjects(mailbox, user) -> list[str]:
    return [message["Subject"] for message in mailbox.to(user.email)]


def twice_at_once(app, job) -> list[int]:
    """Run `job` in two threads at the same moment, each in an app context of its own; what
    each returned."""
    db.session.commit()
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2, timeout=30)

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait()
                results.append(job())
            except BaseException as error:  # re-raised in the test's thread
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a job run never finished"
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def one_off_member(make_plan, member):
    """A member of a paid plan renewed once a year, who joined on MOMENT."""
    plan = make_plan(price_minor=5000, name_en="Individual")

    def make(**fields):
        user, _, membership = member(plan, **fields)
        return user, membership

    return make


# --- reminders -----------------------------------------------------------------------------------


def test_renewal_reminders_go_30_and_7_days_before_the_end_once_each(
    frozen, app, one_off_member, mailbox
):
    user, membership = one_off_member()
    mailbox.clear()

    frozen.move_to(JOINED_ENDS - timedelta(days=30, minutes=1))
    assert jobs.send_renewal_reminders() == 0
    frozen.move_to(JOINED_ENDS - timedelta(days=30))
    assert jobs.send_renewal_reminders() == 1
    assert jobs.send_renewal_reminders() == 0

    [first] = mailbox.to(user.email)
    assert first["Subject"] == REMINDER
    assert "ends on 10 May 2031" in text_of(first)
    assert link_in(first, "/membership") == "http://localhost/membership"
    assert fresh(membership).reminders_sent == 1

    frozen.move_to(JOINED_ENDS - timedelta(days=8))
    assert jobs.send_renewal_reminders() == 0
    frozen.move_to(JOINED_ENDS - timedelta(days=7))
    assert jobs.send_renewal_reminders() == 1
    assert jobs.send_renewal_reminders() == 0
    frozen.move_to(JOINED_ENDS - timedelta(hours=1))
    assert jobs.send_renewal_reminders() == 0

    assert subjects(mailbox, user) == [REMINDER, REMINDER]
    assert link_in(mailbox.to(user.email)[-1], "/membership") == "http://localhost/membership"
    assert fresh(membership).reminders_sent == 2
    assert kinds(membership) == ["joined"]  # a reminder changes nothing of the membership


def test_a_membership_that_ends_within_a_week_gets_one_reminder(
    frozen, app, one_off_member, mailbox
):
    user, membership = one_off_member()
    mailbox.clear()
    frozen.move_to(JOINED_ENDS - timedelta(days=5))

    assert jobs.send_renewal_reminders() == 1
    assert jobs.send_renewal_reminders() == 0

    assert subjects(mailbox, user) == [REMINDER]
    assert fresh(membership).reminders_sent == 2


def test_a_reminder_is_in_the_members_language(frozen, app, one_off_member, mailbox):
    user, _ = one_off_member(language="ja")
    mailbox.clear()
    frozen.move_to(JOINED_ENDS - timedelta(days=7))

    jobs.send_renewal_reminders()

    message = mailbox.last_to(user.email)
    assert message["Content-Language"] == "ja"
    assert "2031年5月10日" in text_of(message)


def test_a_subscription_that_renews_itself_gets_no_reminder_and_no_grace(
    frozen, app, make_plan, member, mailbox
):
    plan = make_plan(renewal="subscription", price_minor=6000)
    user, _, membership = member(plan)
    mailbox.clear()

    frozen.move_to(JOINED_ENDS - timedelta(days=5))
    assert jobs.send_renewal_reminders() == 0
    frozen.move_to(JOINED_ENDS + timedelta(hours=2))  # Stripe's renewal may come a bit late
    assert jobs.start_grace() == 0

    assert mailbox.to(user.email) == []
    assert fresh(membership).status == "active"
    assert is_member(user)


def test_a_renewal_starts_the_reminders_again_for_the_new_end(
    frozen, app, make_plan, member, browser_of, pay, mailbox
):
    plan = make_plan(price_minor=5000)
    user, _, membership = member(plan)
    frozen.move_to(JOINED_ENDS - timedelta(days=30))
    jobs.send_renewal_reminders()
    services.renew(user, membership.id, plan.slug)
    url = services.renewal_checkout(
        user,
        membership.id,
        plan.slug,
        success_url="http://localhost/membership",
        cancel_url="http://localhost/membership",
    )
    pay(url)
    assert fresh(membership).reminders_sent == 0
    mailbox.clear()

    frozen.move_to(datetime(2032, 5, 10, 10, 0, tzinfo=TOKYO) - timedelta(days=30))
    assert jobs.send_renewal_reminders() == 1
    assert "ends on 10 May 2032" in text_of(mailbox.last_to(user.email))


# --- the grace and the expiry --------------------------------------------------------------------


def test_after_its_end_a_one_off_membership_goes_into_its_grace_once(
    frozen, app, one_off_member, mailbox
):
    user, membership = one_off_member()
    mailbox.clear()
    frozen.move_to(JOINED_ENDS - timedelta(minutes=1))
    assert jobs.start_grace() == 0

    frozen.move_to(JOINED_ENDS + timedelta(hours=1))
    assert jobs.start_grace() == 1
    assert jobs.start_grace() == 0

    membership = fresh(membership)
    assert membership.status == "in_grace"
    assert membership.grace_ends_at == GRACE_ENDS
    assert is_member(user)
    assert has_benefit(user, "member_prices")
    assert kinds(membership) == ["joined", "in_grace"]
    [message] = mailbox.to(user.email)
    assert message["Subject"] == IN_GRACE
    assert "Renew it by 24 May 2031" in text_of(message)
    assert link_in(message, "/membership") == "http://localhost/membership"


def test_after_the_grace_benefits_stop_before_the_job_runs_and_the_job_expires_it_once(
    frozen, app, one_off_member, mailbox
):
    user, membership = one_off_member()
    frozen.move_to(JOINED_ENDS + timedelta(hours=1))
    jobs.start_grace()
    mailbox.clear()

    frozen.move_to(GRACE_ENDS - timedelta(minutes=1))
    assert is_member(user)
    assert jobs.expire_after_grace() == 0
    frozen.move_to(GRACE_ENDS)

    assert fresh(membership).status == "in_grace"  # the job has not run yet
    assert not is_member(user)
    assert not has_benefit(user, "member_prices")
    assert services.member_count() == 0

    assert jobs.expire_after_grace() == 1
    assert jobs.expire_after_grace() == 0

    membership = fresh(membership)
    assert (membership.status, membership.ended_at) == ("expired", GRACE_ENDS)
    assert kinds(membership) == ["joined", "in_grace", "expired"]
    assert subjects(mailbox, user) == [EXPIRED]
    assert services.current_membership(user) is None


def test_a_membership_whose_grace_job_never_ran_still_expires_after_the_grace(
    frozen, app, one_off_member, mailbox
):
    user, membership = one_off_member()
    mailbox.clear()
    frozen.move_to(GRACE_ENDS + timedelta(days=1))
    assert not is_member(user)

    assert jobs.start_grace() == 0  # too late for a grace
    assert jobs.expire_after_grace() == 1

    assert fresh(membership).status == "expired"
    assert subjects(mailbox, user) == [EXPIRED]


# --- stale joins ---------------------------------------------------------------------------------


def test_a_join_whose_checkout_outlived_its_hold_is_abandoned_once_stripe_closed_it(
    frozen, app, make_plan, make_user, browser_of, stripe_delivers, mailbox
):
    plan = make_plan()
    user = make_user()
    location = join(browser_of(user), plan).headers["Location"]
    session_id = session_id_of(location)
    membership = services.current_membership(user)

    frozen.move_to(datetime(2030, 5, 10, 11, 9, tzinfo=TOKYO))  # the hold and its margin: 70 min
    assert jobs.abandon_stale_joins() == 0
    frozen.move_to(datetime(2030, 5, 10, 11, 11, tzinfo=TOKYO))
    assert jobs.abandon_stale_joins() == 1
    assert jobs.abandon_stale_joins() == 0

    assert stripe_delivers.requests_to("POST", f"/v1/checkout/sessions/{session_id}/expire")
    assert stripe_delivers.get(session_id)["status"] == "expired"
    assert fresh(membership).status == "abandoned"
    assert kinds(membership) == ["abandoned"]
    stripe_delivers.flush()  # Stripe's checkout.session.expired changes nothing more
    assert kinds(membership) == ["abandoned"]
    assert mailbox.to(user.email) == []
    assert services.current_membership(user) is None  # free to join again


def test_a_stale_join_is_kept_while_stripe_cannot_close_its_checkout(
    frozen, app, make_plan, make_user, browser_of, stripe_delivers, mailbox
):
    plan = make_plan()
    user = make_user()
    join(browser_of(user), plan)
    membership = services.current_membership(user)
    frozen.move_to(datetime(2030, 5, 10, 12, 0, tzinfo=TOKYO))
    stripe_delivers.fail_next("POST", "/v1/checkout/sessions/*/expire", times=10)
    stripe_delivers.fail_next("GET", "/v1/checkout/sessions/*", times=10)

    assert jobs.abandon_stale_joins() == 0

    assert fresh(membership).status == "pending"


def test_a_stale_join_paid_meanwhile_makes_a_member_instead(
    frozen, app, make_plan, make_user, browser_of, stripe_delivers, mailbox
):
    plan = make_plan()
    user = make_user()
    location = join(browser_of(user), plan).headers["Location"]
    stripe_delivers.hold_deliveries()
    stripe_delivers.complete(session_id_of(location))  # paid; its webhook not here yet
    frozen.move_to(datetime(2030, 5, 10, 12, 0, tzinfo=TOKYO))

    assert jobs.abandon_stale_joins() == 0

    membership = services.current_membership(user)
    assert membership.status == "active"
    assert is_member(user)
    stripe_delivers.release()
    assert kinds(membership) == ["joined"]


# --- each job twice at once ----------------------------------------------------------------------


def test_reminders_run_twice_at_once_send_each_e_mail_once(
    frozen, app, one_off_member, mailbox, writers_meet
):
    people = [one_off_member() for _ in range(2)]
    mailbox.clear()
    frozen.move_to(JOINED_ENDS - timedelta(days=20))
    writers_meet(2)  # both runs have read who is due before either claims

    assert sum(twice_at_once(app, jobs.send_renewal_reminders)) == 2

    for user, membership in people:
        assert subjects(mailbox, user) == [REMINDER]
        assert fresh(membership).reminders_sent == 1


def test_the_grace_job_run_twice_at_once_starts_each_grace_once(
    frozen, app, one_off_member, mailbox, writers_meet
):
    people = [one_off_member() for _ in range(2)]
    mailbox.clear()
    frozen.move_to(JOINED_ENDS + timedelta(days=1))
    writers_meet(2)

    assert sum(twice_at_once(app, jobs.start_grace)) == 2

    for user, membership in people:
        assert subjects(mailbox, user) == [IN_GRACE]
        assert kinds(membership) == ["joined", "in_grace"]


def test_the_expiry_job_run_twice_at_once_expires_each_membership_once(
    frozen, app, one_off_member, mailbox, writers_meet
):
    people = [one_off_member() for _ in range(2)]
    mailbox.clear()
    frozen.move_to(GRACE_ENDS + timedelta(hours=1))
    writers_meet(2)

    assert sum(twice_at_once(app, jobs.expire_after_grace)) == 2

    for user, membership in people:
        assert subjects(mailbox, user) == [EXPIRED]
        assert kinds(membership) == ["joined", "expired"]


def test_abandoning_stale_joins_twice_at_once_abandons_each_once(
    frozen, app, make_plan, make_user, browser_of, stripe_delivers, mailbox, writers_meet
):
    plan = make_plan()
    users = [make_user() for _ in range(2)]
    for user in users:
        join(browser_of(user), plan)
    memberships = [services.current_membership(user) for user in users]
    frozen.move_to(datetime(2030, 5, 10, 12, 0, tzinfo=TOKYO))
    writers_meet(2)

    assert sum(twice_at_once(app, jobs.abandon_stale_joins)) == 2

    for membership in memberships:
        assert fresh(membership).status == "abandoned"
        assert kinds(membership) == ["abandoned"]
    for session in stripe_delivers.sessions():
        assert session["status"] == "expired"
