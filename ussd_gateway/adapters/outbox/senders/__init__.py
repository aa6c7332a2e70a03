"""How each outbox sends one item and records what became of it."""
