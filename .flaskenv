# Read by the `flask` command only (never by gunicorn): a newcomer's commands run
# in development, with a generated secret key and the SQLite database.
APP_ENV=development
FLASK_APP=wsgi
