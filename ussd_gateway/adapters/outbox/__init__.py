"""The outbox in SQL: submissions to deliver and SMS to send, claimed with a lease and retried."""
