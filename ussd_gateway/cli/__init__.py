"""The ``ussd-gateway`` and ``ussd-emulator`` commands."""
