"""The SMS channel: outbox and sender, receipts and status updates, inbound keywords, reports."""
