"""Tenants as data: `flask tenants load` (upsert, all or nothing) and how tenant
URLs answer."""

import pytest
from sqlalchemy import event, select
from support.apps import TENANTS_FILE
from support.texts import gettext_in

from webapp import deferred
from webapp.extensions import db
from webapp.models import Tenant

TOML = TENANTS_FILE.read_text(encoding="utf-8")
VELZIO_SECTION = TOML[TOML.index('[[tenants]]\nslug = "velzio"') :]


def load(app, tmp_path, text):
    path = tmp_path / "tenants.toml"
    path.write_text(text, encoding="utf-8")
    return app.test_cli_runner().invoke(args=["tenants", "load", str(path)])


def stored(app):
    with app.app_context():
        return {t.slug: (t.name, t.active, t.settings) for t in db.session.scalars(select(Tenant))}


def test_load_is_an_upsert(app, tmp_path):
    text = TOML.replace('name = "VšĮ Velžio komunalinis ūkis"', 'name = "Velžio ūkis"')
    text += "\n" + VELZIO_SECTION.replace('slug = "velzio"', 'slug = "kitas"')
    result = load(app, tmp_path, text)
    assert result.exit_code == 0, result.output
    assert "1 created, 2 updated" in result.output
    rows = stored(app)
    assert rows["velzio"][0] == "Velžio ūkis"
    assert set(rows) == {"elektrum", "velzio", "kitas"}


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ('primary = "#b34700"', 'primary = "red"', "brand.primary must be a colour"),
        ('accent = "#1b5e20"', 'accent = "#12345"', "brand.accent must be a colour"),
        ('slug = "elektrum"', 'slug = "Elektrum!"', "slug must be"),
        ('text.lt = """MOKESTA', 'text.de = """MOKESTA', "Lithuanian ('lt') text"),
        ("[tenants.contract]\n", "[tenants.kontraktas]\n", "a business tenant needs a [contract]"),
        ('example = "4100012345"', 'example = "ABC"', "contract.example does not match"),
        ('profile = "residential"', 'profile = "household"', "profile must be one of"),
        ("min_length = 8\nmax_length = 16", "min_length = 3\nmax_length = 16", "min_length"),
        ("reset_hours = 1", "reset_hours = 0", "tokens.reset_hours"),
        ('"https://velziokomunalinis.lt"', '"javascript:alert(1)"', "embed origin"),
        ('slug = "elektrum"', 'slug = "console"', "address of the staff console"),
    ],
)
def test_bad_file_is_refused_and_nothing_written(app, tmp_path, old, new, says):
    before = stored(app)
    assert old in TOML
    # The other tenant changes too: a partial load would save that change.
    text = TOML.replace('"Elektrum verslo savitarna"', '"Pakeista"')
    text = text.replace('"MOKESTA savitarna"', '"Pakeista"').replace(old, new)
    result = load(app, tmp_path, text)
    assert result.exit_code != 0
    assert says in result.output
    assert stored(app) == before


def test_duplicate_slugs_are_refused(app, tmp_path):
    result = load(app, tmp_path, TOML + "\n" + VELZIO_SECTION)
    assert result.exit_code != 0 and "duplicate slugs: velzio" in result.output


def test_not_toml_is_refused(app, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[[tenants]\nslug = ", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["tenants", "load", str(path)])
    assert result.exit_code != 0 and "broken.toml" in result.output


def test_tenants_list(app):
    result = app.test_cli_runner().invoke(args=["tenants", "list"])
    assert result.output.splitlines() == [
        "elektrum\tbusiness\tElektrum verslo savitarna",
        "velzio\tresidential\tMOKESTA savitarna",
    ]


def test_unknown_tenant_is_a_translated_404(client, app):
    for path in ("/nera/", "/nera/register", "/nera/account/"):
        response = client.get(path, headers={"Accept-Language": "lt"})
        assert response.status_code == 404
        assert gettext_in(app, "Page not found") in response.get_data(as_text=True)
    english = client.get("/nera/", headers={"Accept-Language": "en"})
    assert gettext_in(app, "Page not found", "en") in english.get_data(as_text=True)


def test_inactive_tenant_is_404(client, app, tmp_path):
    text = TOML.replace('profile = "residential"', 'profile = "residential"\nactive = false')
    assert load(app, tmp_path, text).exit_code == 0
    assert client.get("/velzio/").status_code == 404
    assert client.get("/velzio/register").status_code == 404
    assert "MOKESTA savitarna" not in client.get("/").get_data(as_text=True)


def test_index_lists_both_tenants(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/elektrum/"' in html and 'href="/velzio/"' in html
    assert "Elektrum verslo savitarna" in html and "MOKESTA savitarna" in html


def test_tenant_pages_use_tenant_settings(client):
    elektrum = client.get("/elektrum/register").get_data(as_text=True)
    velzio = client.get("/velzio/register").get_data(as_text=True)
    assert 'name="company_code"' in elektrum and 'name="password"' not in elektrum
    assert 'name="password"' in velzio and 'name="company_code"' not in velzio
    css = client.get("/elektrum/brand.css")
    assert css.mimetype == "text/css" and "#b34700" in css.get_data(as_text=True)
    rules = client.get("/velzio/rules").get_data(as_text=True)
    assert "MOKESTA savitarnos svetainės paslaugomis" in rules


def test_a_known_tenant_answers_without_asking_the_database(client, app):
    """Every tenant page needs its tenant: an instance keeps the row for
    TENANT_CACHE_SECONDS, so a page that needs nothing else runs no query.
    (The login page: the registration page counts its view for the funnel,
    a write after the answer, webapp/funnel.)"""
    assert client.get("/velzio/").status_code == 200
    statements = []

    def record(connection, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get("/velzio/")
        assert deferred.wait_idle()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    assert "MOKESTA savitarna" in response.get_data(as_text=True)
    assert statements == []


def test_a_tenant_turned_off_answers_404_at_once_on_this_instance(client, app, tmp_path):
    assert client.get("/velzio/register").status_code == 200
    text = TOML.replace('profile = "residential"', 'profile = "residential"\nactive = false')
    assert load(app, tmp_path, text).exit_code == 0
    assert client.get("/velzio/register").status_code == 404
