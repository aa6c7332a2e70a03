"""Menu definitions (parsed, validated, immutable) and the hop state machine; no HTTP here."""
