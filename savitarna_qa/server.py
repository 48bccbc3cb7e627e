"""A Savitarna of your own for a test session: the installed app on a free
loopback port, a fresh SQLite database, the demo tenants (or your tenants
file) and mail capture on. Used by the plugin when no --savitarna-url is given."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, make_server


@dataclass
class LocalServer:
    url: str
    token: str
    app: object
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        from webapp.extensions import db

        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        with self.app.app_context():
            db.engine.dispose()


def start_local_server(
    folder: Path,
    *,
    embed_origins: tuple[str, ...] = (),
    tenants_file: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    config: dict | None = None,
) -> LocalServer:
    """Migrate a new database in `folder`, load the tenants (each also allowing
    `embed_origins` to frame it), and serve in a thread."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    import webapp
    from webapp import create_app
    from webapp.config import RESOURCE_ROOT
    from webapp.contracts import import_contracts
    from webapp.extensions import db
    from webapp.models import Tenant
    from webapp.tenants import load_tenants, settings_for

    token = secrets.token_urlsafe(32)
    app = create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'savitarna.sqlite'}",
            "MAIL_URL": "",
            "MAILBOX_ENABLED": False,
            "QA_MAIL_CAPTURE": True,
            "QA_TOKEN": token,
            # A test session registers more people from one address than anyone would.
            "RATELIMIT_ENABLED": False,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            "ARGON2_PARALLELISM": 1,
            "SERVER_NAME": None,
            # A tester's local instance sends no password hash to the Internet
            # (the breached-passwords check, webapp/breached_passwords.py).
            "BREACHED_PASSWORDS_URL": "",
            **(config or {}),
        }
    )
    data = RESOURCE_ROOT / "data"
    with app.app_context():
        upgrade(directory=str(Path(webapp.__file__).parent / "migrations"))
        load_tenants(tenants_file or data / "tenants.toml")
        for tenant in db.session.scalars(select(Tenant)):
            origins = [*tenant.settings.get("embed_origins", []), *embed_origins]
            tenant.settings = {**tenant.settings, "embed_origins": list(dict.fromkeys(origins))}
        db.session.commit()
        elektrum = db.session.scalar(select(Tenant).where(Tenant.slug == "elektrum"))
        if elektrum is not None and tenants_file is None:
            contracts = (data / "elektrum-contracts.csv").read_text(encoding="utf-8")
            import_contracts(elektrum, settings_for(elektrum), contracts)
        db.session.remove()
    server = make_server(host, port, app, threaded=True)
    url = f"http://{host}:{server.server_port}"
    # Emailed links lead where the browser reaches this server.
    app.config["PUBLIC_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="savitarna-qa", daemon=True)
    thread.start()
    return LocalServer(url=url, token=token, app=app, _server=server, _thread=thread)
