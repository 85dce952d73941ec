"""The events domain's rules, used by the pages, the organiser back office and the API alike.

- catalog: reading events for the public (lists with filters, one event, places left)
- registration: registering, the waiting list, cancelling, holds and offers, reminders, check-in
- management: organisers creating, editing, publishing, cancelling and duplicating events
"""

from community.events.services.catalog import *  # noqa: F403
from community.events.services.management import *  # noqa: F403
from community.events.services.registration import *  # noqa: F403
