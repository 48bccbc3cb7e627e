"""Embed mode's own page (has the registration been confirmed yet?) and the
demo host page. The machinery of embed mode, used by every feature, is in
webapp/embedding.py."""

from .views import bp  # noqa: F401
