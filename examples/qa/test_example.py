"""A utility's own test: its page embeds the Savitarna registration form, and
a customer registers through it and confirms from the email.

    pip install 'savitarna[qa]'
    pytest test_example.py                       # a local Savitarna of its own
    pytest test_example.py --savitarna-url https://staging.example.lt \\
        --savitarna-qa-token "$QA_TOKEN" --savitarna-tenant velzio

Your page here is a tiny local server (on YOUR_SITE_PORT, default a free
port); against staging, open your own staging page instead. Either way the
tenant's embed_origins must list its origin (http://localhost:PORT here)."""

import html
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from savitarna_qa import EmbeddedFrame, LoginPage, register_and_confirm


class YourPage(BaseHTTPRequestHandler):
    """The utility's page: an iframe to the embed URL given as ?form=, and
    Savitarna's embed.js, which re-dispatches the frame's events."""

    def do_GET(self):
        form = parse_qs(urlsplit(self.path).query).get("form", [""])[0]
        app = "{0.scheme}://{0.netloc}".format(urlsplit(form))
        body = f"""<!doctype html><html lang="lt"><head><meta charset="utf-8">
<title>Our utility</title></head><body>
<h1>Our utility's website</h1>
<iframe data-savitarna title="Registration" src="{html.escape(form)}"
        width="100%" height="1100"></iframe>
<ol id="events"></ol>
<script src="{html.escape(app)}/static/embed.js"></script>
<script>
  document.addEventListener("savitarna:registered", function (event) {{
    var item = document.createElement("li");
    item.textContent = event.type + " " + event.detail.tenant + " v" + event.detail.version;
    document.getElementById("events").appendChild(item);
  }});
</script></body></html>"""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def your_site():
    port = int(os.environ.get("YOUR_SITE_PORT", "0"))
    server = ThreadingHTTPServer(("127.0.0.1", port), YourPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # "localhost": another site than Savitarna's 127.0.0.1, as in production.
    yield f"http://localhost:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def savitarna_embed_origins(your_site):
    """The plugin's local Savitarna lets your page frame its forms."""
    return [your_site]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_customer_registers_in_our_page(
    new_page, your_site, savitarna, mailbox, customer, javascript
):
    page = new_page(javascript=javascript)
    page.goto(f"{your_site}/?form={savitarna.embed_url('/register')}")
    frame = EmbeddedFrame(page)

    tab = register_and_confirm(page, savitarna, mailbox, customer, frame=frame)

    if javascript:  # the frame told our page (README, "Embedded frame events")
        registered = f"savitarna:registered {savitarna.tenant} v1"
        expect(page.locator("#events li")).to_have_text([registered])
    if not savitarna.is_business:  # confirmed: the customer logs in
        LoginPage(tab).log_in(customer.email, customer.password)
        LoginPage(tab).expect_logged_in()
