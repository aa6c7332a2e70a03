"""Reference server (a): bare aiohttp, the same form, one Redis GET and one SET with expiry per hop.

It walks the 4-hop journey of benchmarks/journey.py with a hand-written state machine and no
locking, retries or validation beyond the form: the floor a Python hop on Redis cannot go below.
Run: ``python -m benchmarks.baseline --port 8091 --redis-url redis://127.0.0.1:6379/0``.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
from urllib.parse import parse_qs

import redis.asyncio as aioredis
from aiohttp import web

from benchmarks.journey import BODY, DONE, HOME, KIND

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TTL = 180


def step(state: bytes | None, text: str) -> tuple[str, str]:
    """(new state, reply) for a stored state and the cumulative text."""
    if state is None or not text:
        return "home", f"CON {HOME}"
    current = state.decode()
    if current == "home":
        return ("kind", f"CON {KIND}") if text == "1" else ("home", f"CON {HOME}")
    if current == "kind":
        return ("body", f"CON {BODY}") if text.endswith(("*1", "*2")) else ("kind", f"CON {KIND}")
    if current == "body":
        reference = "".join(secrets.choice(ALPHABET) for _ in range(8))
        return "done:" + reference, "END " + DONE.format(reference=reference)
    return current, "END " + DONE.format(reference=current.partition(":")[2])


def create_app(redis_url: str) -> web.Application:
    app = web.Application()
    client_key = web.AppKey("redis", aioredis.Redis)

    async def redis_ctx(app: web.Application):
        app[client_key] = aioredis.from_url(redis_url)
        yield
        await app[client_key].aclose()

    async def ussd(request: web.Request) -> web.Response:
        form = parse_qs((await request.read()).decode(), keep_blank_values=True)
        session_id = form.get("sessionId", [""])[0]
        if not session_id:
            return web.Response(status=400, text="missing sessionId")
        text = form.get("text", [""])[0]
        client = app[client_key]
        key = f"base:{session_id}"
        state, reply = step(await client.get(key), text)
        await client.set(key, state, ex=TTL)
        return web.Response(text=reply, content_type="text/plain")

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.cleanup_ctx.append(redis_ctx)
    app.router.add_post("/ussd/africastalking", ussd)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    web.run_app(
        create_app(args.redis_url),
        host=args.host,
        port=args.port,
        access_log=None,
        print=lambda _: print(f"baseline listening on {args.host}:{args.port}", flush=True),
    )


if __name__ == "__main__":
    main()
