"""WCAG 2 colour contrast, and the brand colour pairs a tenant's pages use.

The formula is WCAG 2.2's "contrast ratio" and "relative luminance" (sRGB),
a dozen lines: a dependency for it would weigh more than it saves."""

from __future__ import annotations

import math

# The fixed colours the brand colours meet (static/css/app.css, :root --bg and
# --panel; tests/test_brand_contrast.py keeps the two in step).
PAGE_BACKGROUND = "#f5f6f8"
PANEL_BACKGROUND = "#ffffff"
# WCAG 2.2 AA, 1.4.3: normal-size text. Every pair below includes such text.
MINIMUM = 4.5

# (foreground, background, where the pair is seen). A name is a brand key
# (brand.primary ...), anything else a fixed colour. See app.css and brand.css.
BRAND_PAIRS = (
    ("on_primary", "primary", "text on primary buttons, the page header and emails"),
    ("primary", PANEL_BACKGROUND, "text of secondary buttons, ticked checkboxes"),
    ("accent", PAGE_BACKGROUND, "links on the page background"),
    ("accent", PANEL_BACKGROUND, "links on white panels"),
)


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """Relative luminance of `#rrggbb`, 0 (black) to 1 (white)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    """(L1 + 0.05) / (L2 + 0.05), lighter over darker: 1 to 21."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def shown(ratio: float) -> str:
    """A ratio as people read it, never rounded up past a threshold: 4.49:1."""
    return f"{math.floor(ratio * 100) / 100:.2f}:1"


def brand_contrast_problems(colours: dict[str, str]) -> list[str]:
    """Every brand pair under 4.5:1, described so the person editing the
    tenants file knows which colour to change and against what."""
    problems = []
    for foreground, background, where in BRAND_PAIRS:
        fg = colours.get(foreground, foreground)
        bg = colours.get(background, background)
        ratio = contrast_ratio(fg, bg)
        if ratio < MINIMUM:
            fg_name = f"brand.{foreground} {fg}" if foreground in colours else fg
            bg_name = f"brand.{background} {bg}" if background in colours else bg
            problems.append(
                f"{fg_name} on {bg_name} has a contrast of {shown(ratio)}, "
                f"under the {MINIMUM}:1 that WCAG 2.2 AA needs ({where})"
            )
    return problems
