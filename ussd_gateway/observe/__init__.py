"""What citizens experience, seen from the gateway: metrics, session events, reports."""
