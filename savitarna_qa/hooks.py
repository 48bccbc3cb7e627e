"""The hooks Savitarna keeps stable across releases for testers (README,
"Stable ids"): element ids on its pages, and the embedded frame's events.
tests/test_stable_ids.py checks that the pages carry every one of them."""

# Each field's control has its name as id; around it `<id>-field` (the
# wrapper), `<id>-error` (its error line, always present, empty when valid)
# and, where the field has a hint, `<id>-hint`. Radio options: `<id>-0`, `<id>-1`.
FIELDS = {
    "residential registration": (
        "first_name",
        "last_name",
        "email",
        "password",
        "password2",
        "phone",
        "invoices_by_email",
        "sms_consent",
        "terms",
    ),
    "business registration": (
        "first_name",
        "last_name",
        "company_code",
        "email",
        "is_customer",
        "contract_number",
    ),
    "login": ("email", "password"),
    "forgot password": ("email",),
    "send the confirmation again": ("email",),
    "set password (activation and reset links)": ("password", "password2"),
    "account: change password": ("current_password", "password", "password2"),
    "account: preferences": ("phone",),
}
# Controls that have their id only (no error line: they cannot be wrong).
CONTROLS = {
    "account: preferences": ("preferences", "invoices_by_email", "sms_consent"),
}
# On every page with a form that was sent with errors.
SUMMARY = ("error-summary", "error-summary-title")
# On every page.
PAGE = ("main", "live-region")
# Where a new password is chosen: the rule checklist and the "passwords match" line.
PASSWORD = ("password-rules", "password-match")

# The embedded frame's postMessage contract (static/js/embed-frame.js) and the
# DOM events static/embed.js makes of it.
EMBED_CONTRACT_VERSION = 1
EMBED_EVENTS = ("savitarna:form-shown", "savitarna:registered", "savitarna:confirmed")
