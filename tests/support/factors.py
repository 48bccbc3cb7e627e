"""A person's second factor as the tests hold it: the authenticator app on
their phone (pyotp, with the key read off the set-up page) and the recovery
codes they wrote down. Elektrum requires a second factor, so its customers
set one up at their first login (`set_up_on_step`) and pass the step at each
later one (`pass_step`, with a recovery code: a code from the app is taken
once per 30 s, and tests log in faster than that)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import pyotp

from .forms import csrf_from

STEP_PATH = "/login/second-factor"
KEY_RE = re.compile(r'<code class="secret-key">([A-Z2-7 ]+)</code>')
CODE_RE = re.compile(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>")


@dataclass
class Phone:
    """An authenticator app holding one key, and the recovery codes kept beside it."""

    key: str
    recovery_codes: list[str] = field(default_factory=list)

    @property
    def totp(self) -> pyotp.TOTP:
        return pyotp.TOTP(self.key.replace(" ", ""))

    def code(self, steps: int = 0) -> str:
        """The code the app shows now, or `steps` time steps (30 s) away."""
        return self.totp.at(time.time() + 30 * steps)

    def recovery_code(self) -> str:
        assert self.recovery_codes, "no recovery codes left in this test"
        return self.recovery_codes.pop(0)


def _phones(app) -> dict:
    return app.extensions.setdefault("test_phones", {})


def phone_of(app, slug: str, email: str) -> Phone | None:
    return _phones(app).get((slug, email.lower()))


def key_on(html: str) -> str:
    match = KEY_RE.search(html)
    assert match, "the page shows no authenticator key"
    return match.group(1)


def codes_on(html: str) -> list[str]:
    codes = CODE_RE.findall(html)
    assert len(codes) == 10, "the page shows no recovery codes"
    return codes


def waits_for_step(response, slug: str) -> bool:
    return response.status_code == 303 and response.headers.get("Location") == (
        f"/{slug}{STEP_PATH}"
    )


def set_up_on_step(client, app, slug: str, email: str):
    """The required set-up step: scan the key, type the code, keep the recovery
    codes, continue. Returns the answer of "continue" (the way on)."""
    page = client.get(f"/{slug}{STEP_PATH}", headers={"Accept-Language": "lt"})
    html = page.get_data(as_text=True)
    phone = Phone(key_on(html))
    shown = client.post(
        f"/{slug}{STEP_PATH}", data={"csrf_token": csrf_from(html), "code": phone.code()}
    )
    assert shown.status_code == 200, shown.get_data(as_text=True)
    codes_html = shown.get_data(as_text=True)
    phone.recovery_codes = codes_on(codes_html)
    _phones(app)[(slug, email.lower())] = phone
    return client.post(f"/{slug}{STEP_PATH}/continue", data={"csrf_token": csrf_from(codes_html)})


def pass_step(client, slug: str, code: str):
    """Type `code` on the second step's page."""
    html = client.get(f"/{slug}{STEP_PATH}").get_data(as_text=True)
    return client.post(f"/{slug}{STEP_PATH}", data={"csrf_token": csrf_from(html), "code": code})


def through_step(client, app, slug: str, email: str, response):
    """After a first step: pass the second one when it is asked for (set it up
    the first time, a recovery code after), else the answer as it was."""
    if not waits_for_step(response, slug):
        return response
    phone = phone_of(app, slug, email)
    if phone is None:
        return set_up_on_step(client, app, slug, email)
    return pass_step(client, slug, phone.recovery_code())


def add_authenticator(client, app, slug: str, email: str) -> Phone:
    """On the security page (logged in): set up an app, keep the recovery codes."""
    path = f"/{slug}/account/security/authenticator"
    html = client.get(path).get_data(as_text=True)
    phone = Phone(key_on(html))
    shown = client.post(path, data={"csrf_token": csrf_from(html), "code": phone.code()})
    assert shown.status_code == 200, shown.get_data(as_text=True)
    phone.recovery_codes = codes_on(shown.get_data(as_text=True))
    _phones(app)[(slug, email.lower())] = phone
    return phone


def press(client, slug: str, action: str, data: dict | None = None):
    """A button of the security page (its CSRF token, then the post)."""
    html = client.get(f"/{slug}/account/security").get_data(as_text=True)
    return client.post(action, data={"csrf_token": csrf_from(html), **(data or {})})
