"""Configuration: typed sections read from config/gateway.yaml and the environment.

The bottom layer: it imports nothing else of the gateway, so every layer may read it."""
