"""A real djangorestframework-simplejwt (Debian's 5.2 on Django 3.2 and DRF 3.14) on loopback.

The reference the differential tests (test/conformance/simplejwt-reference.test.ts) compare
Tessera's SimpleJWT dialect with; started and stopped by test/support/simplejwt-reference.ts.
One file is the whole Django project: settings, URLs, database, users and a stdlib WSGI server.

Environment:
  REFERENCE_DIR         a fresh folder for the sqlite database
  REFERENCE_SECRET_KEY  Django's SECRET_KEY (SimpleJWT's default SIGNING_KEY)
  REFERENCE_SIMPLE_JWT  SIMPLE_JWT as JSON; a *_LIFETIME given as a number is seconds
  REFERENCE_USERS       [{"username": ..., "password": ..., "is_active": true}, ...] as JSON

It listens on 127.0.0.1, on a port the system picks, and writes `listening PORT` on stdout once
the socket is bound. SIGTERM stops it.
"""

import json
import os
import signal
import sys
from datetime import timedelta
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import django
from django.conf import settings


def simple_jwt_settings():
    """SIMPLE_JWT from the environment's JSON: lifetimes in seconds become timedeltas."""
    given = json.loads(os.environ.get("REFERENCE_SIMPLE_JWT", "{}"))
    return {
        key: timedelta(seconds=value) if key.endswith("_LIFETIME") and isinstance(value, (int, float)) else value
        for key, value in given.items()
    }


settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ["REFERENCE_SECRET_KEY"],
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "rest_framework",
        "rest_framework_simplejwt.token_blacklist",
    ],
    # No middleware: the answers are DRF's and SimpleJWT's alone (Django's security middleware
    # would add headers a SimpleJWT deployment may or may not have).
    MIDDLEWARE=[],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(os.environ["REFERENCE_DIR"], "db.sqlite3"),
        }
    },
    # The tables straight from the models (syncdb) rather than through every app's migrations:
    # the same schema, created in a fraction of the time.
    MIGRATION_MODULES={"auth": None, "contenttypes": None, "token_blacklist": None},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    USE_TZ=True,
    SIMPLE_JWT=simple_jwt_settings(),
)
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402 (after django.setup())
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.urls import re_path  # noqa: E402
from rest_framework_simplejwt import views  # noqa: E402

# Tessera serves every SimpleJWT path with and without the trailing slash; so does this project,
# so that both spellings can be compared.
urlpatterns = [
    re_path(r"^api/token/?$", views.TokenObtainPairView.as_view()),
    re_path(r"^api/token/refresh/?$", views.TokenRefreshView.as_view()),
    re_path(r"^api/token/verify/?$", views.TokenVerifyView.as_view()),
    re_path(r"^api/token/blacklist/?$", views.TokenBlacklistView.as_view()),
    re_path(r"^api/token/sliding/?$", views.TokenObtainSlidingView.as_view()),
    re_path(r"^api/token/sliding/refresh/?$", views.TokenRefreshSlidingView.as_view()),
]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the stdlib's parameter name)
        pass


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def main():
    call_command("migrate", run_syncdb=True, verbosity=0)
    User = get_user_model()
    for user in json.loads(os.environ.get("REFERENCE_USERS", "[]")):
        created = User.objects.create_user(username=user["username"], password=user["password"])
        if not user.get("is_active", True):
            created.is_active = False
            created.save()
    server = make_server("127.0.0.1", 0, WSGIHandler(), server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"listening {server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
