"""Piccolo's configuration module (``PICCOLO_CONF=storyhub.piccolo_conf``).

``DB`` starts from the environment's settings so the ``piccolo`` CLI works;
storyhub replaces it with :func:`storyhub.lib.database.install_engine`.
"""

from piccolo.conf.apps import AppRegistry

from storyhub.lib.database import build_engine
from storyhub.settings import load_settings

DB = build_engine(load_settings().database_url)

APP_REGISTRY = AppRegistry(apps=["storyhub.piccolo_app"])
