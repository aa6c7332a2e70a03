"""Aggregator adapters: each turns its webhook into a UssdRequest and a reply into its format."""
