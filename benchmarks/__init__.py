"""Load tests and reference servers: hops/s and latency, never unit tests (see README.md)."""
