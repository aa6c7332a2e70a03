"""Completed requests: stored durably with a reference before the citizen sees it."""
