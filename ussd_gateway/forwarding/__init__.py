"""Delivery of stored submissions to their backends: connectors, retry policy, worker."""
