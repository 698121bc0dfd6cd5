"""The web service: one FastAPI app (``create_app``) for the CLI, the tests and the benchmark."""

from consentry.service.app import create_app

__all__ = ["create_app"]
