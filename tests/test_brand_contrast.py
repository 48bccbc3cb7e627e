"""Brand colours must be readable: a tenant whose colours fail WCAG 2.2 AA
contrast (4.5:1 for text) is refused when the tenants file is loaded, with the
colour, the pair and the ratio named."""

from __future__ import annotations

import copy
import re
import tomllib

import pytest
from sqlalchemy import select
from support.apps import TENANTS_FILE

from webapp.config import PROJECT_ROOT
from webapp.contrast import PAGE_BACKGROUND, PANEL_BACKGROUND, contrast_ratio, shown
from webapp.extensions import db
from webapp.models import Tenant
from webapp.tenants import TenantDataError, parse_settings


def _velzio(**brand) -> dict:
    data = tomllib.loads(TENANTS_FILE.read_text(encoding="utf-8"))
    entry = copy.deepcopy(next(t for t in data["tenants"] if t["slug"] == "velzio"))
    entry["brand"].update(brand)
    return entry


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("#000000", "#ffffff", "21.00:1"),
        ("#ffffff", "#ffffff", "1.00:1"),
        # The classic near miss: #777 on white is 4.48:1 and must not show as 4.5.
        ("#777777", "#ffffff", "4.47:1"),
        ("#767676", "#ffffff", "4.54:1"),
        ("#1b5e20", "#ffffff", "7.86:1"),
    ],
)
def test_contrast_ratio_is_wcag_2(first, second, expected):
    assert shown(contrast_ratio(first, second)) == expected
    assert contrast_ratio(first, second) == contrast_ratio(second, first)


def test_the_demo_tenants_pass():
    data = tomllib.loads(TENANTS_FILE.read_text(encoding="utf-8"))
    for entry in data["tenants"]:
        parse_settings(entry)


@pytest.mark.parametrize(
    ("brand", "message"),
    [
        (
            {"on_primary": "#ffffff", "primary": "#ff8800"},
            "brand.on_primary #ffffff on brand.primary #ff8800 has a contrast of 2.39:1",
        ),
        (
            {"primary": "#1b5e20", "on_primary": "#66bb6a"},
            "brand.on_primary #66bb6a on brand.primary #1b5e20 has a contrast of 3.32:1",
        ),
        # Dark text on a light primary passes the button, fails as button text on white.
        (
            {"primary": "#f0c000", "on_primary": "#000000"},
            f"brand.primary #f0c000 on {PANEL_BACKGROUND} has a contrast of 1.71:1",
        ),
        (
            {"accent": "#2e9e44"},
            f"brand.accent #2e9e44 on {PAGE_BACKGROUND} has a contrast of 3.18:1",
        ),
    ],
)
def test_low_contrast_brand_colours_are_refused(brand, message):
    with pytest.raises(TenantDataError) as refused:
        parse_settings(_velzio(**brand))
    text = str(refused.value)
    assert text.startswith("tenant 'velzio': ")
    assert message in text
    assert "under the 4.5:1 that WCAG 2.2 AA needs" in text


def test_every_failing_pair_is_named_at_once():
    with pytest.raises(TenantDataError) as refused:
        parse_settings(_velzio(primary="#ff8800", accent="#ff8800"))
    # The header/button text, secondary buttons, links on page and on panels.
    assert str(refused.value).count("has a contrast of") == 4


def test_load_refuses_the_file_and_writes_nothing(app, tmp_path):
    bad = TENANTS_FILE.read_text(encoding="utf-8").replace(
        'accent = "#1b5e20"', 'accent = "#8bc34a"', 1
    )
    path = tmp_path / "tenants.toml"
    path.write_text(bad, encoding="utf-8")
    with app.app_context():
        before = {t.slug: dict(t.settings) for t in db.session.scalars(select(Tenant))}

    result = app.test_cli_runner().invoke(args=["tenants", "load", str(path)])

    assert result.exit_code != 0
    assert (
        "tenant 'velzio': brand.accent #8bc34a on #f5f6f8 has a contrast of 1.94:1" in result.output
    )
    with app.app_context():
        after = {t.slug: dict(t.settings) for t in db.session.scalars(select(Tenant))}
    assert after == before


def test_fixed_colours_are_those_of_the_stylesheet():
    css = (PROJECT_ROOT / "static" / "css" / "app.css").read_text(encoding="utf-8")
    root = css[css.index(":root {") : css.index("}", css.index(":root {"))]
    assert re.search(rf"--bg:\s*{PAGE_BACKGROUND};", root)
    assert re.search(rf"--panel:\s*{PANEL_BACKGROUND};", root)
