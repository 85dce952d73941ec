"""Who may see what: decorators for organiser and admin pages.

Anonymous visitors are sent to log in (and back afterwards); signed-in people without the role get
403.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from community.extensions import login_manager


def _require(check):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not check(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


organiser_required = _require(lambda user: user.is_organiser)
admin_required = _require(lambda user: user.is_admin)
