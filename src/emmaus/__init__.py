"""Emmaus: a self-hostable conversational AI platform speaking the Gloo AI wire contract."""

__version__ = "0.1.0"

__all__ = ["__version__"]
