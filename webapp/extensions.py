"""Unbound extension instances; `create_app` binds them."""

from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from .addresses import request_address


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
compress = Compress()
# The key prefix comes from RATELIMIT_KEY_PREFIX (limits.configure). Flask-Limiter
# keeps the first app's prefix for the life of the process, which is what a
# server process needs: one app, one prefix. Per-address limits count an IPv6
# client by its /64 (webapp/addresses.py).
limiter = Limiter(key_func=request_address)
