"""HTTP plumbing shared by the connectors: bounded request bodies, JSON parsing, provider calls."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any, Dict, Mapping, Optional, Tuple

import aiohttp
from sanic.request import Request

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
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


def bearer_token(headers: Mapping[str, str]) -> Optional[str]:
    """The token from ``Authorization: Bearer <token>`` (header names in lower case)."""
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


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


class Delivery(Enum):
    """What became of one provider call."""

    SENT = "sent"
    RETRY = "retry"  # network error, timeout, 429 or 5xx: try again later
    REFUSED = "refused"  # any other 4xx: the same call will never succeed


@dataclass
class ProviderClient:
    """Make one call to a provider's API with a timeout; the outbox decides about retries."""

    name: str
    timeout: float = SEND_TIMEOUT_SECONDS

    async def post(self, url: str, **options: Any) -> Delivery:
        """Send one request and say whether it was accepted, may be retried, or was refused.

        ``options`` are those of :meth:`post_tracked` (json_body, form, headers, auth).
        """
        outcome, _ = await self.post_tracked(url, **options)
        return outcome

    async def post_tracked(
        self,
        url: str,
        *,
        json_body: Optional[Mapping[str, Any]] = None,
        form: Optional[Mapping[str, str]] = None,
        headers: Optional[Mapping[str, str]] = None,
        auth: Optional[aiohttp.BasicAuth] = None,
    ) -> Tuple[Delivery, Any]:
        """Like :meth:`post`, also returning the accepted call's JSON answer (its message id)."""
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        answer: Any = None
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(
                    url, json=json_body, data=form, headers=dict(headers or {}), auth=auth
                ) as response,
            ):
                status = response.status
                raw = await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.warning("%s API call failed: %s", self.name, type(error).__name__)
            return Delivery.RETRY, None
        if status < 300:
            try:
                answer = json.loads(raw.decode("utf-8")) if raw else None
            except (UnicodeDecodeError, ValueError):
                answer = None
            return Delivery.SENT, answer
        if status < 500 and status != 429:
            # The answer body may quote the message; log only the status.
            logger.error("%s API refused a message: HTTP %s", self.name, status)
            return Delivery.REFUSED, None
        logger.warning("%s API answered HTTP %s", self.name, status)
        return Delivery.RETRY, None
