"""The gateway's connections to the world: session stores, SQL, the outbox and its senders,
backend connectors, counters, metrics and events.

Adapters know nothing of menus, hops or HTTP routes; they import only ``domain`` and ``config``."""
