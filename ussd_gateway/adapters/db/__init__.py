"""Durable storage: SQLAlchemy models, async engines and the migrations applied at start-up."""
