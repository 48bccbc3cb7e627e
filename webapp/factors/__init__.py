"""Second factors: passkeys (WebAuthn), authenticator-app codes (TOTP) and
recovery codes; the account's security page, the passkey login and the
second login step. The step plugs into every login through
auth.sessions.register_step; a tenant's `second_factor` setting says whether
factors are off, optional or required."""

from flask import Blueprint, Flask

bp = Blueprint("factors", __name__, url_prefix="/<tenant:tenant>")


def init_app(app: Flask) -> None:
    """Register the second login step (after the blueprint's views exist)."""
    from ..auth.sessions import register_step
    from .flows import needs_second_step

    # A passkey login ("mfa" already) has had its second factor.
    register_step(app, "second_factor", needs_second_step, "factors.step", unless_amr=("mfa",))


from . import views  # noqa: E402,F401
