"""The deployment under test, its QA mail API, and fresh test customers."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx


class QAError(AssertionError):
    """The deployment did not answer as a QA suite needs (an AssertionError, so
    pytest reports it as a failed step, not as a crash of the kit)."""


@dataclass(frozen=True)
class Savitarna:
    """One tenant of one deployment: where it is and what it is."""

    url: str  # https://staging.example.lt, without a trailing slash
    tenant: str
    token: str
    profile: str = "residential"
    name: str = ""
    qa_addresses: tuple[str, ...] = ()
    # httpx's verify: True (the system's trust) or an ssl context (--savitarna-ca-cert).
    verify: object = field(default=True, compare=False, repr=False)

    @classmethod
    def connect(
        cls, url: str, tenant: str, token: str, timeout: float = 10, verify: object = True
    ) -> Savitarna:
        """Ask the QA mail API about the tenant; fails with the reason when the
        deployment has no mail capture, or the token is not its token."""
        url = url.rstrip("/")
        try:
            answer = httpx.get(
                f"{url}/{tenant}/_qa/", headers=_bearer(token), timeout=timeout, verify=verify
            )
        except httpx.HTTPError as exc:
            raise QAError(f"Savitarna at {url} does not answer: {exc}") from exc
        if answer.status_code == 401:
            raise QAError(f"{url}: the QA token was refused (--savitarna-qa-token).")
        if answer.status_code == 429:
            raise QAError(
                f"{url}: too many requests or wrong tokens from this address; try again in "
                f"{answer.headers.get('Retry-After', 'a few')} seconds."
            )
        if answer.status_code != 200:
            raise QAError(
                f"{url}/{tenant}/_qa/ answered {answer.status_code}: is the tenant right, and "
                "is QA_MAIL_CAPTURE on at this deployment?"
            )
        data = answer.json()
        return cls(
            url=url,
            tenant=tenant,
            token=token,
            profile=data["profile"],
            name=data["name"],
            qa_addresses=tuple(data["qa_addresses"]),
            verify=verify,
        )

    def __call__(self, path: str = "/", lang: str | None = None, **query) -> str:
        """The absolute URL of a page of the tenant: savitarna("/register", lang="en")."""
        if lang:
            query["lang"] = lang
        suffix = ("?" + urlencode(query)) if query else ""
        return f"{self.url}/{self.tenant}{path}{suffix}"

    def embed_url(self, path: str = "/register", lang: str | None = None, **query) -> str:
        """The embedded form's URL, for the iframe of a page of your own."""
        return self(f"/embed{path}", lang=lang, **query)

    @property
    def is_business(self) -> bool:
        return self.profile == "business"


@dataclass
class Customer:
    """A person who has never used the site: a fresh test address per test."""

    email: str
    password: str = "Testas2468"  # noqa: S105 (a test customer's, on every tenant's rules)
    first_name: str = "Ona"
    last_name: str = "Testaitė"
    phone: str = "861234567"
    # A valid Lithuanian company code (its check digit is right) for business tenants.
    company_code: str = "110053842"
    # Where the tenant requires a second factor, the journeys set up an
    # authenticator app: its key and the recovery codes shown once are kept here.
    authenticator_key: str | None = None
    recovery_codes: list[str] = field(default_factory=list)

    @classmethod
    def fresh(cls, savitarna: Savitarna, prefix: str = "qa") -> Customer:
        """A new address matching the tenant's first test address pattern."""
        patterns = [p for p in savitarna.qa_addresses if "*" in p.partition("@")[0]]
        if not patterns:
            raise QAError(
                f"tenant {savitarna.tenant!r} has no test address pattern with '*' "
                '(qa_addresses = ["*@qa.example.lt"] in its tenant data).'
            )
        unique = f"{prefix}-{uuid.uuid4().hex[:12]}"
        return cls(email=patterns[0].replace("*", unique, 1).replace("*", ""))


@dataclass(frozen=True)
class Email:
    """One message as the QA mail API returns it."""

    id: int
    kind: str
    to: str
    subject: str
    text: str
    html: str
    links: tuple[str, ...]
    language: str
    created_at: str
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: dict) -> Email:
        names = ("id", "kind", "to", "subject", "text", "html", "language", "created_at")
        return cls(**{n: data[n] for n in names}, links=tuple(data["links"]), raw=data)

    @property
    def link(self) -> str:
        """The message's link (our emails carry one: confirm, activate, reset)."""
        if not self.links:
            raise QAError(f"the email {self.subject!r} has no link:\n{self.text}")
        return self.links[0]

    def link_with(self, marker: str) -> str:
        """The first link whose text contains `marker`."""
        for url in self.links:
            if marker in url:
                return url
        raise QAError(f"no link with {marker!r} in the email {self.subject!r}:\n{self.text}")


class Mailbox:
    """The mail to test addresses, read through the QA mail API."""

    def __init__(self, savitarna: Savitarna, timeout: float = 15, every: float = 0.25):
        self.savitarna, self.timeout, self.every = savitarna, timeout, every
        self._http = httpx.Client(
            base_url=f"{savitarna.url}/{savitarna.tenant}/_qa",
            headers=_bearer(savitarna.token),
            timeout=10,
            verify=savitarna.verify,
        )
        self._taken: set[int] = set()

    def close(self) -> None:
        self._http.close()

    def messages(self, to: str, deadline: float | None = None) -> list[Email]:
        """Every message to `to`, newest first. Asked too often (429), it waits
        as long as the deployment says, until `deadline` (monotonic) at most."""
        deadline = time.monotonic() + self.timeout if deadline is None else deadline
        while True:
            answer = self._http.get("/messages", params={"to": to})
            if answer.status_code != 429:
                break
            wait = float(answer.headers.get("Retry-After", "1"))
            if time.monotonic() + wait > deadline:
                raise QAError(
                    f"the QA mail API keeps answering 429 (Retry-After {wait:.0f} s): "
                    "too many requests from this address, or too many wrong tokens."
                )
            time.sleep(wait)
        if answer.status_code == 404:
            raise QAError(f"{to} is not a test address of {self.savitarna.tenant!r}.")
        answer.raise_for_status()
        return [Email.from_json(item) for item in answer.json()["messages"]]

    def wait(self, to: str, kind: str | None = None, timeout: float | None = None) -> Email:
        """The oldest message to `to` (of `kind`: confirm, activate, reset, ...)
        not returned before; waits for it until the deadline."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            waiting = [
                m
                for m in reversed(self.messages(to, deadline))
                if m.id not in self._taken and (kind is None or m.kind == kind)
            ]
            if waiting:
                self._taken.add(waiting[0].id)
                return waiting[0]
            if time.monotonic() >= deadline:
                what = f"{kind} email" if kind else "email"
                raise QAError(f"no {what} to {to} before the deadline")
            time.sleep(self.every)


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
