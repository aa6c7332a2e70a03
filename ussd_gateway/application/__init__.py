"""What the gateway does with a request: the hop service and its guard, the menus' lifecycle,
the SMS keywords, journey tests and reports; one factory builds them.

No HTTP here: the layer above turns requests into calls of this one."""
