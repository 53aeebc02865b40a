"""Lets the ``piccolo`` CLI find storyhub's configuration from the project root."""

from storyhub.piccolo_conf import *  # noqa: F403
