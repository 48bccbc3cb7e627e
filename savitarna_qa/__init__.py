"""The QA kit: what a utility's testers need to drive Savitarna from their own
browser tests, emails included. `pip install savitarna[qa]` installs it with
its pytest plugin (savitarna_qa.plugin); README, "Testing your integration".

The server's side is webapp/qa_mail (the QA mail API); nothing here imports
our test suites."""

from .client import Customer, Email, Mailbox, Savitarna
from .journeys import confirm_from_email, register_and_confirm
from .pages import (
    EmbeddedFrame,
    ForgotPasswordPage,
    LoginPage,
    RegistrationPage,
    SetPasswordPage,
    Texts,
)

__all__ = [
    "Customer",
    "Email",
    "EmbeddedFrame",
    "ForgotPasswordPage",
    "LoginPage",
    "Mailbox",
    "RegistrationPage",
    "Savitarna",
    "SetPasswordPage",
    "Texts",
    "confirm_from_email",
    "register_and_confirm",
]
