"""USSD and SMS gateway for government services on every phone."""

__version__ = "0.1.0"
