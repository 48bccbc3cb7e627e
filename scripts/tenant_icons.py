"""Draw the web app icons of every tenant (and Savitarna's own) from the SVG logos:
static/tenants/<slug>/icon-192.png, icon-512.png and icon-maskable-512.png.

Run by a developer when a tenant or its logo is added (the PNGs are committed):
    .venv/bin/python scripts/tenant_icons.py
It draws with the Chromium the browser tests use, then keeps 32 colours (Pillow,
a development dependency): a 192 px icon is part of a first visit's 30 KB.
"""

from __future__ import annotations

import base64
import tomllib
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
CHROMIUM = Path("/usr/bin/chromium")

# The maskable icon's logo fits the safe zone, a circle of 80 % of the width.
PAGE = """<!doctype html><html><body style="margin:0">
<div style="width:{size}px;height:{size}px;display:grid;place-items:center;background:{background}">
<img src="data:image/svg+xml;base64,{svg}" style="width:{logo}%;height:{logo}%"></div>
</body></html>"""


def targets() -> list[tuple[Path, Path, str]]:
    """(logo, folder, brand colour) of Savitarna and of every tenant with a logo."""
    found = [(STATIC / "icons" / "favicon.svg", STATIC / "icons", "#1f4e79")]
    document = tomllib.loads((ROOT / "data" / "tenants.toml").read_text(encoding="utf-8"))
    for tenant in document["tenants"]:
        logo = tenant.get("logo")
        if logo and logo.endswith(".svg"):
            colour = tenant.get("brand", {}).get("primary", "#1f4e79")
            found.append((STATIC / logo, STATIC / "tenants" / tenant["slug"], colour))
    return found


def main() -> None:
    with sync_playwright() as playwright:
        options = {"executable_path": str(CHROMIUM)} if CHROMIUM.exists() else {}
        browser = playwright.chromium.launch(**options)
        page = browser.new_page()
        for logo, folder, colour in targets():
            svg = base64.b64encode(logo.read_bytes()).decode()
            folder.mkdir(parents=True, exist_ok=True)
            for name, size, background, share in (
                ("icon-192.png", 192, "transparent", 100),
                ("icon-512.png", 512, "transparent", 100),
                ("icon-maskable-512.png", 512, colour, 62),
            ):
                page.set_viewport_size({"width": size, "height": size})
                page.set_content(
                    PAGE.format(size=size, background=background, svg=svg, logo=share)
                )
                page.screenshot(path=folder / name, omit_background=True)
                with Image.open(folder / name) as drawn:
                    small = drawn.quantize(colors=32, method=Image.Quantize.FASTOCTREE)
                small.save(folder / name, optimize=True)
                print(folder.relative_to(ROOT) / name)
        browser.close()


if __name__ == "__main__":
    main()
