"""HTTP plumbing shared by the connectors: bounded request bodies, JSON parsing, provider calls."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

import aiohttp
from sanic.request import Request

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
SEND_ATTEMPTS = 3
SEND_TIMEOUT_SECONDS = 15.0


class RequestError(Exception):
    """A request we refuse, with the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def lower_headers(request: Request) -> Dict[str, str]:
    """Return the request headers with lower-case names (what the pure readers expect)."""
    return {name.lower(): value for name, value in request.headers.items()}


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """Read a streamed request body, refusing (413) anything larger than ``limit`` bytes.

    The route must be declared with ``stream=True`` so an oversized upload is refused
    without buffering it.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, "request body too large")
    if request.stream is None:
        body = request.body or b""
        if len(body) > limit:
            raise RequestError(413, "request body too large")
        return body
    chunks = []
    size = 0
    while True:
        chunk = await request.stream.read()
        if chunk is None:
            break
        size += len(chunk)
        if size > limit:
            raise RequestError(413, "request body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_object(body: bytes) -> Dict[str, Any]:
    """Parse a JSON object or raise a 400 ``RequestError``."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RequestError(400, "malformed JSON") from None
    if not isinstance(data, dict):
        raise RequestError(400, "expected a JSON object")
    return data


@dataclass
class ProviderClient:
    """POST to a provider's API with a few retries on network errors and 5xx answers."""

    name: str
    attempts: int = SEND_ATTEMPTS
    timeout: float = SEND_TIMEOUT_SECONDS

    async def post(
        self,
        url: str,
        *,
        json_body: Optional[Mapping[str, Any]] = None,
        form: Optional[Mapping[str, str]] = None,
        headers: Optional[Mapping[str, str]] = None,
        auth: Optional[aiohttp.BasicAuth] = None,
    ) -> Optional[Any]:
        """Send one request; return the decoded JSON answer, or None when it finally failed."""
        delay = 0.5
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        for attempt in range(1, self.attempts + 1):
            try:
                async with (
                    aiohttp.ClientSession(timeout=timeout) as session,
                    session.post(
                        url, json=json_body, data=form, headers=dict(headers or {}), auth=auth
                    ) as response,
                ):
                    text = await response.text()
                    status = response.status
                if status < 300:
                    return json.loads(text) if text.strip() else {}
                if status < 500 and status != 429:
                    logger.error("%s API refused a message: HTTP %s %s", self.name, status, text[:300])
                    return None
                logger.warning("%s API answered HTTP %s (attempt %s)", self.name, status, attempt)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                logger.warning("%s API call failed (attempt %s): %s", self.name, attempt, error)
            if attempt < self.attempts:
                await asyncio.sleep(delay)
                delay *= 2
        logger.error("%s API: giving up after %s attempts", self.name, self.attempts)
        return None
