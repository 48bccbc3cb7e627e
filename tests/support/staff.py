"""A staff member's steps in the console (/console/), as the person takes
them: added by an operator (`flask staff add`), the invitation's link, the
password, the authenticator app, login with a code, logout.

Codes: the console takes each 30-second code once, and one step either side
of now. A staff member here types the code of the current step first, then
the next step's, so two code entries work without waiting; a third would
need the clock to move (tests do not sleep for it)."""

from __future__ import annotations

from .factors import Phone, key_on
from .forms import csrf_from, submit
from .mail import link_in, outbox

CONSOLE = "/console"
PASSWORD = "Konsole-Slapta-2026"


class StaffMember:
    """One staff member with one browser (a test client).

    rasa = StaffMember(client, app, "rasa@velzio.lt", tenant="velzio", role="support")
    rasa.join()            # invited, password set, app set up: logged in
    rasa.logout()
    rasa.login()
    """

    def __init__(
        self,
        client,
        app,
        email: str,
        *,
        tenant: str | None = "velzio",
        role: str = "support",
        owner: bool = False,
        name: str = "Rasa Petraitė",
        password: str = PASSWORD,
        language: str = "lt",
    ):
        self.client, self.app = client, app
        self.email, self.tenant, self.role, self.owner = email, tenant, role, owner
        self.name, self.password, self.language = name, password, language
        self.phone: Phone | None = None
        self._steps = iter((0, 1))

    def add(self, *extra: str):
        """The operator's command; returns the CLI result."""
        args = ["staff", "add", self.email, "--name", self.name, "--language", self.language]
        if self.tenant:
            args += ["--tenant", self.tenant, "--role", self.role]
        if self.owner:
            args.append("--owner")
        result = self.app.test_cli_runner().invoke(args=[*args, *extra])
        assert result.exit_code == 0, result.output
        return result

    def invitation_link(self) -> str:
        return link_in(outbox(self.app, self.email.lower())[-1], "/console/set-password/")

    def set_password(self, password: str | None = None, repeat: str | None = None):
        """Open the invitation's link and save a password."""
        password = password or self.password
        return submit(
            self.client,
            self.invitation_link(),
            {"password": password, "password2": password if repeat is None else repeat},
        )

    def set_up_app(self):
        """The first login's step: read the key off the page, type its code."""
        html = self.client.get(f"{CONSOLE}/login/set-up").get_data(as_text=True)
        self.phone = Phone(key_on(html))
        return self.client.post(
            f"{CONSOLE}/login/set-up",
            data={"csrf_token": csrf_from(html), "code": self.next_code()},
        )

    def join(self):
        """Added, the link's password saved, the app set up: logged in."""
        self.add()
        assert self.set_password().status_code == 303
        response = self.set_up_app()
        assert response.status_code == 303, response.get_data(as_text=True)
        return response

    def next_code(self) -> str:
        assert self.phone is not None, "no authenticator app set up yet"
        return self.phone.code(next(self._steps))

    def enter_password(self, email: str | None = None, password: str | None = None):
        return submit(
            self.client,
            f"{CONSOLE}/login",
            {"email": email or self.email, "password": password or self.password},
        )

    def enter_code(self, code: str):
        html = self.client.get(f"{CONSOLE}/login/code").get_data(as_text=True)
        return self.client.post(
            f"{CONSOLE}/login/code", data={"csrf_token": csrf_from(html), "code": code}
        )

    def login(self):
        """Password, then the app's next code; the answer of the code step."""
        response = self.enter_password()
        assert response.headers.get("Location") == f"{CONSOLE}/login/code", response.status_code
        return self.enter_code(self.next_code())

    def logout(self):
        html = self.client.get(f"{CONSOLE}/").get_data(as_text=True)
        return self.client.post(f"{CONSOLE}/logout", data={"csrf_token": csrf_from(html)})
