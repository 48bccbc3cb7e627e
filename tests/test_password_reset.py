"""Forgot password, the reset link, 'send the confirmation again' and the
confirmation link. Same answers for known and unknown addresses."""

from datetime import timedelta

from sqlalchemy import update
from support.data import VELZIO_OK
from support.forms import submit, without_csrf
from support.mail import link_in, outbox
from support.people import account, confirm, login, register_velzio
from support.texts import expected, gettext_in

from webapp.extensions import db
from webapp.models import Token, utcnow


def forgot(app, email):
    return submit(app.test_client(), "/velzio/forgot", {"email": email})


def test_same_page_for_known_and_unknown_email(client, app):
    register_velzio(client, app)
    known = forgot(app, "ona@example.com")
    unknown = forgot(app, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert without_csrf(known.get_data(as_text=True)).replace("ona@example.com", "X") == (
        without_csrf(unknown.get_data(as_text=True)).replace("nobody@example.com", "X")
    )
    assert [m.kind for m in outbox(app, "ona@example.com")] == ["confirm", "reset"]
    assert outbox(app, "nobody@example.com") == []


def test_forgot_needs_an_email(client, app):
    response = submit(client, "/velzio/forgot", {"email": ""})
    assert response.status_code == 422
    assert expected(app, "EMAIL_REQUIRED") in response.get_data(as_text=True)


def test_reset_link_sets_a_new_password_once(client, app):
    register_velzio(client, app)
    forgot(app, "ONA@example.com")
    link = link_in(outbox(app, "ona@example.com")[-1], "/velzio/reset/")

    weak = submit(client, link, {"password": "naujas", "password2": "naujas"})
    assert weak.status_code == 422
    assert expected(app, "PASSWORD_WEAK", rules="\x00").split("\x00")[0] in weak.get_data(
        as_text=True
    )
    too_long = "Naujas123456789ab"  # 17: over velzio's 16
    assert submit(client, link, {"password": too_long, "password2": too_long}).status_code == 422
    mismatch = submit(client, link, {"password": "Naujas123", "password2": "Naujas124"})
    assert expected(app, "PASSWORD_MISMATCH") in mismatch.get_data(as_text=True)

    done = submit(client, link, {"password": "Naujas123", "password2": "Naujas123"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/velzio/account/")
    assert expected(app, "PASSWORD_SET") in client.get("/velzio/account/").get_data(as_text=True)

    assert login(app.test_client(), "velzio", "ona@example.com", "Slapta123").status_code == 422
    assert login(app.test_client(), "velzio", "ona@example.com", "Naujas123").status_code == 303

    used = app.test_client().get(link)
    assert used.status_code == 410
    assert gettext_in(app, "This link no longer works") in used.get_data(as_text=True)


def test_expired_reset_link(client, app):
    register_velzio(client, app)
    forgot(app, "ona@example.com")
    link = link_in(outbox(app, "ona@example.com")[-1], "/reset/")
    with app.app_context():
        db.session.execute(
            update(Token)
            .where(Token.purpose == "reset")
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
    response = client.get(link)
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert gettext_in(app, "This link no longer works") in html
    assert 'href="/velzio/forgot"' in html  # "send a new link" asks for a new reset


def test_new_password_kills_other_open_links(client, app):
    register_velzio(client, app)
    forgot(app, "ona@example.com")
    forgot(app, "ona@example.com")
    first, second = (link_in(m, "/reset/") for m in outbox(app, "ona@example.com")[-2:])
    assert (
        submit(client, second, {"password": "Naujas123", "password2": "Naujas123"}).status_code
        == 303
    )
    assert app.test_client().get(first).status_code == 410


def test_reset_link_of_one_tenant_does_not_work_at_another(client, app):
    register_velzio(client, app)
    forgot(app, "ona@example.com")
    link = link_in(outbox(app, "ona@example.com")[-1], "/reset/")
    assert client.get(link.replace("/velzio/", "/elektrum/")).status_code == 410


def test_reset_confirms_an_unconfirmed_address(client, app):
    submit(client, "/velzio/register", VELZIO_OK)
    forgot(app, "ona@example.com")
    link = link_in(outbox(app, "ona@example.com")[-1], "/reset/")
    assert (
        submit(client, link, {"password": "Naujas123", "password2": "Naujas123"}).status_code == 303
    )
    assert account(app, "velzio", "ona@example.com").email_confirmed_at is not None


# --- send the confirmation again ---------------------------------------------


def resend(app, slug, email):
    return submit(app.test_client(), f"/{slug}/resend", {"email": email})


def test_resend_to_unconfirmed_account(client, app):
    submit(client, "/velzio/register", VELZIO_OK)
    response = resend(app, "velzio", "ona@example.com")
    assert response.status_code == 200
    assert [m.kind for m in outbox(app, "ona@example.com")] == ["confirm", "confirm"]
    # The new link works.
    assert confirm(client, link_in(outbox(app)[-1], "/confirm/")).status_code == 303


def test_resend_activation_to_business_account(client, app):
    from support.data import ELEKTRUM_OK

    submit(client, "/elektrum/register", ELEKTRUM_OK)
    resend(app, "elektrum", "jonas@example.com")
    kinds = [m.kind for m in outbox(app, "jonas@example.com")]
    assert kinds == ["activate", "activate"]
    assert client.get(link_in(outbox(app)[-1], "/activate/")).status_code == 200


def test_resend_same_page_and_no_email_for_confirmed_or_unknown(client, app):
    register_velzio(client, app)
    confirmed = resend(app, "velzio", "ona@example.com")
    unknown = resend(app, "velzio", "nobody@example.com")
    assert confirmed.status_code == unknown.status_code == 200
    assert without_csrf(confirmed.get_data(as_text=True)).replace("ona@example.com", "X") == (
        without_csrf(unknown.get_data(as_text=True)).replace("nobody@example.com", "X")
    )
    assert [m.kind for m in outbox(app)] == ["confirm"]


# --- the confirmation link ---------------------------------------------------


def test_confirmation_link_twice(client, app):
    submit(client, "/velzio/register", VELZIO_OK)
    link = link_in(outbox(app)[0], "/confirm/")
    assert confirm(client, link).status_code == 303
    again = app.test_client()
    response = again.get(link)
    assert response.status_code == 303 and response.headers["Location"].endswith("/velzio/")
    assert expected(app, "EMAIL_ALREADY_CONFIRMED") in again.get("/velzio/").get_data(as_text=True)


def test_garbage_confirmation_token(client, app):
    for token in ("garbage", "x" * 500, "%00"):
        response = client.get(f"/velzio/confirm/{token}")
        assert response.status_code == 410
        assert gettext_in(app, "This link no longer works") in response.get_data(as_text=True)


def test_expired_confirmation_link(client, app):
    submit(client, "/velzio/register", VELZIO_OK)
    link = link_in(outbox(app)[0], "/confirm/")
    with app.app_context():
        db.session.execute(update(Token).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert client.get(link).status_code == 410
    assert account(app, "velzio", "ona@example.com").email_confirmed_at is None
