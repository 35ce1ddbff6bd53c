"""A trivial ASGI app answering every request with a constant JSON body, served by uvicorn
with `mlspec serve`'s options: the ceiling the load generator and the HTTP stack allow on
this machine, measured beside `mlspec serve` by bench/serving.py.

  python bench/_constant_app.py PORT
"""

from __future__ import annotations

import sys
from typing import Any

BODY = b'{"predictions": [{"score": 0.5}]}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # read the whole body, as a real app does
        more = (await receive()).get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BODY})


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
        lifespan="off",
    )
