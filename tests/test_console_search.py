"""The console's customer search and customer page: every searchable field,
paging, the htmx fragment, what a customer page shows (and never shows), and
isolation: staff see their own utilities' customers only, by search, by URL
or otherwise."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support.apps import tenant
from support.factors import add_authenticator
from support.people import Customer
from support.staff import CONSOLE, StaffMember
from support.texts import gettext_in

from webapp.console.access import require_role, tenants_for
from webapp.console.models import Staff
from webapp.extensions import db
from webapp.models import Account, RecoveryCode, TotpFactor, utcnow


def make_customer(app, slug: str, email: str, **fields) -> int:
    """A stored account of `slug` (the search reads rows, however they came)."""
    with app.app_context():
        account = Account(
            tenant_id=tenant(slug).id,
            email=email,
            first_name=fields.pop("first_name", "Ona"),
            last_name=fields.pop("last_name", "Petraitienė"),
            **fields,
        )
        db.session.add(account)
        db.session.commit()
        return account.id


@pytest.fixture
def rasa(app):
    """A support member of Velžio's staff, logged in on a browser of her own."""
    member = StaffMember(app.test_client(), app, "rasa@velzio.lt", tenant="velzio")
    member.join()
    return member


def search(member, slug: str, q: str = "", **params):
    return member.client.get(f"{CONSOLE}/{slug}/customers", query_string={"q": q, **params})


def found(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_search_finds_customers_by_each_field(app, rasa):
    make_customer(app, "velzio", "jonas@example.lt", first_name="Jonas", last_name="Kazlauskas")
    make_customer(app, "velzio", "sarunas@example.lt", first_name="Šarūnas", last_name="Žemaitis")
    make_customer(app, "velzio", "ona@example.lt", phone="+37061234567")
    make_customer(app, "velzio", "uab@example.lt", company_code="110053842")
    make_customer(app, "velzio", "sutartis@example.lt", contract_number="4100012345")
    for q, email in (
        ("JONAS@example", "jonas@example.lt"),
        ("kazlausk", "jonas@example.lt"),
        ("Jonas Kazlauskas", "jonas@example.lt"),
        ("ŠARŪN", "sarunas@example.lt"),
        ("8 612 34567", "ona@example.lt"),
        ("+3706123", "ona@example.lt"),
        ("110053842", "uab@example.lt"),
        ("41000123", "sutartis@example.lt"),
        ("4100 012345", "sutartis@example.lt"),
    ):
        html = found(search(rasa, "velzio", q))
        assert email in html, q
        others = {
            "jonas@example.lt",
            "sarunas@example.lt",
            "ona@example.lt",
            "uab@example.lt",
            "sutartis@example.lt",
        }
        assert not any(other in html for other in others - {email}), q
    nothing = found(search(rasa, "velzio", "zzz"))
    assert gettext_in(app, "No customer matches this search.") in nothing


def test_like_wildcards_are_taken_literally(app, rasa):
    make_customer(app, "velzio", "a_b@example.lt")
    make_customer(app, "velzio", "axb@example.lt")
    html = found(search(rasa, "velzio", "a_b"))
    assert "a_b@example.lt" in html and "axb@example.lt" not in html
    assert "@example.lt" not in found(search(rasa, "velzio", "%"))


def test_search_pages_through_many_customers(app, rasa):
    for number in range(45):
        make_customer(app, "velzio", f"klientas{number:02d}@example.lt")
    first = found(search(rasa, "velzio", "klientas"))
    assert gettext_in(app, "page %(page)d of %(pages)d", page=1, pages=3) in first
    assert first.count("@example.lt</td>") == 20
    assert "klientas44@example.lt" in first  # newest first
    last = found(search(rasa, "velzio", "klientas", page=3))
    assert last.count("@example.lt</td>") == 5
    assert "klientas00@example.lt" in last
    assert 'rel="next"' not in last and 'rel="prev"' in last
    # A page past the end shows the last one; a page that is no number, the first.
    assert "klientas00@example.lt" in found(search(rasa, "velzio", "klientas", page=99))
    assert "klientas44@example.lt" in found(search(rasa, "velzio", "klientas", page="x"))


def test_search_as_you_type_answers_the_results_only(app, rasa):
    make_customer(app, "velzio", "jonas@example.lt", first_name="Jonas")
    page = found(search(rasa, "velzio"))
    # The page works without JavaScript: a GET form with a labelled field and a button.
    assert 'method="get"' in page and '<label class="label" for="q">' in page
    assert 'hx-trigger="input changed delay:300ms, keyup changed delay:300ms"' in page
    assert 'type="submit"' in page
    response = rasa.client.get(
        f"{CONSOLE}/velzio/customers", query_string={"q": "jon"}, headers={"HX-Request": "true"}
    )
    fragment = found(response)
    assert "<html" not in fragment and "jonas@example.lt" in fragment
    assert 'hx-swap-oob="innerHTML:#result-count"' in fragment
    assert "HX-Request" in response.headers["Vary"]


def test_customer_page_shows_the_record_and_no_secret(app, client, rasa):
    ona = Customer(client, app, "velzio", email="ona@velzio.lt")
    ona.register()
    ona.login()
    phone = add_authenticator(client, app, "velzio", ona.email)
    account_id = ona.account().id
    html = found(rasa.client.get(f"{CONSOLE}/velzio/customers/{account_id}"))
    assert "ona@velzio.lt" in html
    assert gettext_in(app, "Active") in html
    assert gettext_in(app, "Authenticator app, since %(date)s", date="").strip() in html
    assert gettext_in(app, "Logged in") in html
    assert gettext_in(app, "Way to log in added") in html
    assert gettext_in(app, "still open") in html  # her login, on her browser
    with app.app_context():
        stored = db.session.get(Account, account_id)
        secret = db.session.scalar(select(TotpFactor.secret))
        digests = list(db.session.scalars(select(RecoveryCode.digest)))
        assert stored.password_hash not in html and secret not in html
        assert not any(digest in html for digest in digests)
    assert phone.key not in html and phone.key.replace(" ", "") not in html
    assert not any(code in html for code in phone.recovery_codes)


def test_an_unconfirmed_customer_says_so(app, rasa):
    account_id = make_customer(app, "velzio", "naujas@example.lt")
    html = found(rasa.client.get(f"{CONSOLE}/velzio/customers/{account_id}"))
    assert gettext_in(app, "Unconfirmed") in html


def test_an_account_being_deleted_and_a_deleted_one_say_so(app, rasa):
    """The customer asked to delete it (within the grace period), then the
    purge ran (webapp/privacy/deletion.py)."""
    now = utcnow()
    deleting = make_customer(app, "velzio", "greitai@example.lt", deletion_due_at=now)
    deleted = make_customer(
        app, "velzio", "deleted-1@deleted.invalid", deletion_due_at=now, deleted_at=now
    )
    html = found(rasa.client.get(f"{CONSOLE}/velzio/customers/{deleting}"))
    assert gettext_in(app, "Being deleted") in html
    html = found(rasa.client.get(f"{CONSOLE}/velzio/customers/{deleted}"))
    assert gettext_in(app, "Deleted") in html and gettext_in(app, "Being deleted") not in html


def test_staff_see_nothing_of_another_utility(app, rasa):
    elektrum_id = make_customer(app, "elektrum", "slaptas@elektrum.lt", company_code="302477747")
    # Not by search ...
    assert "slaptas@elektrum.lt" not in found(search(rasa, "velzio", "slaptas"))
    assert "slaptas@elektrum.lt" not in found(search(rasa, "velzio", "302477747"))
    # ... not by guessing the customer's id under their own utility ...
    guessed = rasa.client.get(f"{CONSOLE}/velzio/customers/{elektrum_id}")
    assert guessed.status_code == 404
    assert "slaptas@elektrum.lt" not in guessed.get_data(as_text=True)
    # ... nor by the other utility's address.
    for path in ("/elektrum/customers", f"/elektrum/customers/{elektrum_id}"):
        refused = rasa.client.get(CONSOLE + path)
        assert refused.status_code == 403
        assert gettext_in(app, "You do not have access to this page") in refused.get_data(
            as_text=True
        )
    assert rasa.client.get(f"{CONSOLE}/nowhere/customers").status_code == 404
    home = found(rasa.client.get(f"{CONSOLE}/"))
    assert "Elektrum" not in home


def test_the_owner_sees_every_utility(app):
    owner = StaffMember(app.test_client(), app, "owner@savitarna.lt", tenant=None, owner=True)
    owner.join()
    elektrum_id = make_customer(app, "elektrum", "klientas@elektrum.lt")
    home = found(owner.client.get(f"{CONSOLE}/"))
    assert "/console/velzio/customers" in home and "/console/elektrum/customers" in home
    assert found(owner.client.get(f"{CONSOLE}/elektrum/customers/{elektrum_id}"))


def test_pages_need_a_console_login(app, client):
    account_id = make_customer(app, "velzio", "ona@example.lt")
    for path in ("/velzio/customers", f"/velzio/customers/{account_id}", "/"):
        response = client.get(CONSOLE + path)
        assert response.status_code == 303
        assert response.headers["Location"] == f"{CONSOLE}/login"


def test_roles_rank_viewer_support_admin(app, rasa):
    viewer = StaffMember(app.test_client(), app, "petras@velzio.lt", role="viewer")
    viewer.join()
    # A viewer reads the customers too.
    assert search(viewer, "velzio").status_code == 200
    with app.app_context():
        staff = {s.email: s for s in db.session.scalars(select(Staff))}
        assert [t.slug for t in tenants_for(staff["petras@velzio.lt"])] == ["velzio"]
    checks = {
        ("petras@velzio.lt", "viewer"): True,
        ("petras@velzio.lt", "support"): False,
        ("rasa@velzio.lt", "support"): True,
        ("rasa@velzio.lt", "admin"): False,
    }
    for (email, role), allowed in checks.items():
        member = viewer if email.startswith("petras") else rasa
        assert _allowed(app, member, "velzio", role) is allowed, (email, role)
        assert _allowed(app, member, "elektrum", "viewer") is False


def _allowed(app, member, slug: str, role: str) -> bool:
    """require_role as a view calls it, in a request carrying the member's cookie."""
    from werkzeug.exceptions import Forbidden

    cookie = member.client.get_cookie("savitarna_console", path="/console")
    with app.test_request_context(
        f"{CONSOLE}/", headers={"Cookie": f"savitarna_console={cookie.value}"}
    ):
        app.preprocess_request()
        try:
            require_role(tenant(slug), role)
        except Forbidden:
            return False
        return True


@pytest.mark.parametrize(
    ("q", "finds"),
    [
        ("\x00", True),  # nothing but a control character: no condition at all
        ("\u202e\ufeff ", True),
        ("on\x00a", True),  # read as "on a"
        ("'; DROP TABLE accounts; --", False),
        ("%_\\", False),
        ("ą" * 500, False),
    ],
)
def test_odd_searches_answer_and_find_nothing_strange(app, rasa, q, finds):
    make_customer(app, "velzio", "ona@example.lt")
    html = found(search(rasa, "velzio", q))
    assert ("ona@example.lt" in html) is finds
    fragment = rasa.client.get(
        f"{CONSOLE}/velzio/customers", query_string={"q": q}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200


@pytest.mark.parametrize("page", ["-1", "0", "99999999999999999999", "1e3", ""])
def test_odd_page_numbers_answer(app, rasa, page):
    make_customer(app, "velzio", "ona@example.lt")
    assert "ona@example.lt" in found(search(rasa, "velzio", "", page=page))
