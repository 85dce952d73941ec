"""The events domain's rules, used by the pages, the organiser back office and the API alike.

- catalog: reading events for the public (lists with filters, one event, places left)
- engine: the moving parts every change of who holds a place uses (the event's lock, places,
  promotion from the waiting list, telling people through the outbox)
- registration: registering (with vouchers and prices from events/offers.py), the waiting list,
  cancelling (and what happens to the money), promoting by hand
- jobs: the worker's timed jobs: expired holds and offers, reminders
- tickets: check-in at the door and the private manage links
- management: organisers creating, editing, publishing, cancelling and duplicating events
- attendees: the attendee list, its CSV export, e-mails to attendees, check-in look-ups
- covers: event cover images
- paying: sending a registration to the payments checkout, refunds, what the money shows
- mine: what people find of their own ("My events", their links again, waiting-list places)
"""

from community.events.services.attendees import *  # noqa: F403
from community.events.services.catalog import *  # noqa: F403
from community.events.services.covers import *  # noqa: F403
from community.events.services.jobs import *  # noqa: F403
from community.events.services.management import *  # noqa: F403
from community.events.services.mine import *  # noqa: F403
from community.events.services.paying import *  # noqa: F403
from community.events.services.registration import *  # noqa: F403
from community.events.services.tickets import *  # noqa: F403
