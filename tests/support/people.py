"""A customer's steps, as the person takes them through the pages: register,
confirm the emailed link, log in, log out (the Flask tutorial's AuthActions)."""

from __future__ import annotations

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Account, Tenant

from .data import ELEKTRUM_OK, ELEKTRUM_PASSWORD, VELZIO_OK
from .factors import through_step
from .forms import csrf_from, submit
from .mail import link_in, outbox


def register_velzio(client, app, **changes) -> str:
    """Register and confirm a residential customer; return their email."""
    data = {**VELZIO_OK, **changes}
    response = submit(client, "/velzio/register", data)
    assert response.status_code == 303, response.get_data(as_text=True)
    message = outbox(app, data["email"])[-1]
    assert confirm(client, link_in(message, "/confirm/")).status_code == 303
    return data["email"]


def register_elektrum(client, app, password: str = ELEKTRUM_PASSWORD, **changes) -> str:
    """Register a business customer, set the password from the emailed link and
    set up the second factor Elektrum requires (an authenticator app)."""
    data = {**ELEKTRUM_OK, **changes}
    response = submit(client, "/elektrum/register", data)
    assert response.status_code == 303, response.get_data(as_text=True)
    link = link_in(outbox(app, data["email"])[-1], "/activate/")
    response = submit(client, link, {"password": password, "password2": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    response = through_step(client, app, "elektrum", data["email"], response)
    assert response.status_code == 303, response.get_data(as_text=True)
    return data["email"]


def confirm(client, link: str, headers=None):
    """Open a confirmation link and press its button, as a person does (opening
    the link alone confirms nothing)."""
    return submit(client, link, {}, headers=headers)


def login(client, slug: str, email: str, password: str):
    """Log in with the password, and pass the second step when it is asked for
    (tests/support/factors.py): the answer of the last step."""
    response = submit(client, f"/{slug}/", {"email": email, "password": password})
    return through_step(client, client.application, slug, email, response)


def logout(client, slug: str):
    """Press "Log out" on the account page."""
    html = client.get(f"/{slug}/account/").get_data(as_text=True)
    return client.post(f"/{slug}/logout", data={"csrf_token": csrf_from(html)})


def account(app, slug: str, email: str) -> Account | None:
    """The account behind the pages (detached), or None."""
    with app.app_context():
        found = db.session.scalar(
            select(Account).join(Tenant).where(Tenant.slug == slug, Account.email == email)
        )
        db.session.expunge_all()
        return found


class Customer:
    """One person at one utility, with one browser (a test client): the steps
    above as that person takes them, so a test reads as their story.

        ona = Customer(client, app, "velzio")
        ona.register()
        ona.login()
        ona.logout()
    """

    def __init__(self, client, app, slug: str = "velzio", **answers):
        self.client, self.app, self.slug = client, app, slug
        defaults = VELZIO_OK if slug == "velzio" else {**ELEKTRUM_OK, "password": ELEKTRUM_PASSWORD}
        self.answers = {**defaults, **answers}

    @classmethod
    def logged_in(cls, client, app, slug: str = "velzio", **answers) -> Customer:
        """A customer who has registered, confirmed and logged in with `client`."""
        person = cls(client, app, slug, **answers)
        person.register()
        person.login()
        return person

    @property
    def email(self) -> str:
        return self.answers["email"]

    @property
    def password(self) -> str:
        return self.answers["password"]

    def register(self) -> str:
        """Register and confirm (residential) or set the password (business)."""
        answers = {key: value for key, value in self.answers.items() if key != "password"}
        if self.slug == "velzio":
            return register_velzio(self.client, self.app, **self.answers)
        return register_elektrum(self.client, self.app, self.password, **answers)

    def login(self, password: str | None = None):
        return login(self.client, self.slug, self.email, password or self.password)

    def logout(self):
        return logout(self.client, self.slug)

    def account(self) -> Account | None:
        return account(self.app, self.slug, self.email)
