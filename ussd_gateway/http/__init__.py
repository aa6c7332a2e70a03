"""The web side: the aiohttp application factory, routes, aggregators' adapters, webhooks, admin
endpoints and the simulator."""
