"""The Flask extensions, created unbound here and bound to an app in create_app()."""

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@limiter.request_filter
def _limits_switched_off() -> bool:
    # Flask-Limiter keeps RATELIMIT_ENABLED on the extension, so the last app bound decides for
    # every app in the process; each app's own setting is honoured here.
    return not current_app.config.get("RATELIMIT_ENABLED", True)


__all__ = ["babel", "csrf", "limiter", "login_manager", "migrate"]
