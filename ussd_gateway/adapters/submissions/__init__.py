"""Durable submissions: committed to the database before the citizen is shown the reference."""
