"""Consentry: consent-aware licensing of user content for AI training."""

__version__ = "0.1.0"
