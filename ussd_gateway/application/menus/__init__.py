"""The menus' lifecycle: loading every service and directory, the registry of versions, short-code
routing, reloads, and the flow graph."""
