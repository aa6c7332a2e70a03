"""One aggregator request in, one screen out: the hop service and the rules of the field it
follows (providers retry, calls drop, text arrives cumulative or one entry at a time)."""
