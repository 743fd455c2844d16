"""Download a photo from a provider's media endpoint: with a timeout, never more than the limit.

A network error, a timeout, 429 or 5xx is :class:`MediaFetchError` (the inbox retries the
message later); another 4xx is permanent (``permanent=True``: the media is gone or not ours).
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Mapping, Optional

import aiohttp

from bot.media.images import TOO_LARGE, ImageRefusedError

CHUNK_BYTES = 64 * 1024


class MediaFetchError(RuntimeError):
    """The media could not be downloaded now (or, when ``permanent``, ever)."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


def _check(status: int) -> None:
    if status < 300:
        return
    raise MediaFetchError(f"HTTP {status}", permanent=status < 500 and status != 429)


async def download(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    headers: Optional[Mapping[str, str]] = None,
    auth: Optional[aiohttp.BasicAuth] = None,
) -> bytes:
    """GET ``url``; raise ``ImageRefusedError(too_large)`` as soon as it passes ``max_bytes``."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(url, headers=dict(headers or {}), auth=auth) as response,
        ):
            _check(response.status)
            if (response.content_length or 0) > max_bytes:
                raise ImageRefusedError(TOO_LARGE)
            data = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                data += chunk
                if len(data) > max_bytes:
                    raise ImageRefusedError(TOO_LARGE)
            return bytes(data)
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        raise MediaFetchError(type(error).__name__) from None


async def fetch_json(
    url: str,
    *,
    timeout: float,
    headers: Optional[Mapping[str, str]] = None,
    params: Optional[Mapping[str, str]] = None,
) -> Dict[str, Any]:
    """GET a small JSON object (a media lookup); errors as in :func:`download`."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(url, headers=dict(headers or {}), params=dict(params or {})) as response,
        ):
            _check(response.status)
            data = await response.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
        raise MediaFetchError(type(error).__name__) from None
    if not isinstance(data, dict):
        raise MediaFetchError("not a JSON object", permanent=True)
    return data
