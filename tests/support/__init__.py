"""The steps and machinery both suites share (tests/ and e2e/ import it as
`support`; pyproject's pytest `pythonpath`). tests/conftest.py keeps only fixtures.

- apps.py: the data files, the test configuration, a server-like test client
- data.py: registration answers that pass
- forms.py: the one CSRF helper, posting forms as a browser or htmx does
- mail.py: the outbox and the one link helper (path, or full_url=True)
- people.py: a customer's steps (`Customer`; register, confirm, login, logout)
- texts.py: what a page says, through the catalogues
- servers.py, smtp.py: real gunicorn/worker processes and a loopback SMTP sink
- water_profile.py: a third registration profile, for test_profiles.py
"""
