"""Metrics and session events: what citizens experience, counted without waiting."""
