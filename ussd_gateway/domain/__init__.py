"""Plain values every layer shares: a session's state, an aggregator's request and reply,
submissions and their references, and the field facts of phone texts (GSM 03.38).

No I/O here; it imports only ``config``."""
