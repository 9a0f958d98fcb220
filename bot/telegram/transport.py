"""Bot API requests over aiohttp.

PTB's default request sends through httpx's own connection pool (httpcore on anyio): 1.5 to 2 ms
of CPU per Bot API call with 50 calls in flight; the same httpx client over aiohttp
(httpx-aiohttp) took 0.55 ms. A question makes two or three Bot API calls, and CPU is
what a burst of questions waits for, so every Bot API call goes this way.
"""

from __future__ import annotations

import httpx
from httpx_aiohttp import AiohttpTransport
from telegram.request import HTTPXRequest

API_CONNECTIONS = 256  # PTB's default pool for the Bot API calls
POLLING_CONNECTIONS = 1  # getUpdates: one long poll at a time


def bot_api_request(connections: int = API_CONNECTIONS) -> HTTPXRequest:
    transport = AiohttpTransport(limits=httpx.Limits(max_connections=connections))
    return HTTPXRequest(connection_pool_size=connections, httpx_kwargs={"transport": transport})
