"""A tiny sticky round-robin HTTP proxy in front of several Rasa servers.

The gateway talks to one `RASA_URL`; to measure two Rasa processes behind
it without changing the gateway, the benchmark points `RASA_URL` here. Each
new conversation id is given the next upstream in turn and keeps it (the
shared PostgreSQL tracker store and Redis lock store would allow any
upstream, but sticking keeps the comparison to one server fair). Requests
without a conversation id (`/status`) go round-robin.

    python -m bot.bench.proxy --port 5100 --upstream http://127.0.0.1:5101 ...
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Sequence

import aiohttp
from aiohttp import web

HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


class StickyRoundRobin:
    """Upstream per conversation id: the next in turn on first sight, then the same."""

    def __init__(self, upstreams: Sequence[str]) -> None:
        if not upstreams:
            raise ValueError("at least one upstream is needed")
        self.upstreams = [u.rstrip("/") for u in upstreams]
        self._turn = itertools.cycle(range(len(self.upstreams)))
        self._by_conversation: dict[str, str] = {}
        self.requests: dict[str, int] = dict.fromkeys(self.upstreams, 0)

    def pick(self, conversation_id: str | None) -> str:
        if conversation_id is None:
            upstream = self.upstreams[next(self._turn)]
        else:
            if conversation_id not in self._by_conversation:
                self._by_conversation[conversation_id] = self.upstreams[next(self._turn)]
            upstream = self._by_conversation[conversation_id]
        self.requests[upstream] += 1
        return upstream


def conversation_of(path: str, body: bytes) -> str | None:
    """`/conversations/<id>/…` or the REST channel's `sender`; None for anything else."""
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "conversations":
        return parts[1]
    if path.rstrip("/").endswith("/webhooks/rest/webhook") and body:
        try:
            sender = json.loads(body).get("sender")
        except (ValueError, AttributeError):
            return None
        return str(sender) if sender is not None else None
    return None


def make_app(upstreams: Sequence[str]) -> web.Application:
    balancer = StickyRoundRobin(upstreams)
    app = web.Application(client_max_size=10 * 1024 * 1024)

    async def on_startup(app: web.Application) -> None:
        app["http"] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=120)
        )

    async def on_cleanup(app: web.Application) -> None:
        await app["http"].close()
        print(f"requests per upstream: {balancer.requests}", flush=True)

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        upstream = balancer.pick(conversation_of(request.path, body))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        http: aiohttp.ClientSession = request.app["http"]
        async with http.request(
            request.method, upstream + request.path_qs, data=body or None, headers=headers
        ) as response:
            payload = await response.read()
            return web.Response(
                status=response.status,
                body=payload,
                content_type=response.content_type,
            )

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.bench.proxy", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", action="append", required=True)
    args = parser.parse_args(argv)
    web.run_app(make_app(args.upstream), host="127.0.0.1", port=args.port, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
