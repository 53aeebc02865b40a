"""Integration fixtures live in ``tests/conftest.py`` (``db``, ``redis_url``, ``s3_endpoint``)."""
