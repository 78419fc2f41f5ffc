"""The monolith's client of the fruits service, over one pooled httpx client."""

from __future__ import annotations

from typing import Any

import httpx

from fruitsplit.core.errors import FruitsServiceUnavailable, InvalidFruit, SpecialFruitForbidden
from fruitsplit.core.fruits import ListedFruit, VersionedFruit

DEFAULT_TIMEOUT = httpx.Timeout(2.0, connect=1.0)


class FruitsClient:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def list_fruits(self) -> list[ListedFruit]:
        """Every record the service holds; raises FruitsServiceUnavailable."""
        body = await self._json("GET", "/")
        if not isinstance(body, list):
            raise FruitsServiceUnavailable("GET / did not answer a JSON list")
        return [ListedFruit(str(item["username"]), str(item["fruit"])) for item in body]

    async def put_fruit(self, token: str, fruit: str) -> VersionedFruit:
        """Write the fruit of the user `token` speaks for.

        Raises InvalidFruit (400), SpecialFruitForbidden (403), or
        FruitsServiceUnavailable for anything else that is not a 201.
        """
        try:
            response = await self._client.put(
                "/fruit", data={"fruit": fruit}, headers={"X-Auth-Token": token}
            )
        except httpx.HTTPError as error:
            raise FruitsServiceUnavailable(str(error) or type(error).__name__) from error
        if response.status_code == 400:
            raise InvalidFruit(_error_text(response))
        if response.status_code == 403:
            raise SpecialFruitForbidden(fruit)
        if response.status_code != 201:
            raise FruitsServiceUnavailable(f"PUT /fruit answered {response.status_code}")
        body = response.json()
        return VersionedFruit(
            int(body["user_id"]), str(body["username"]), str(body["fruit"]), int(body["version"])
        )

    async def _json(self, method: str, path: str) -> Any:
        try:
            response = await self._client.request(method, path)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise FruitsServiceUnavailable(str(error) or type(error).__name__) from error


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        return response.text.strip() or f"status {response.status_code}"


def build_http_client(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=DEFAULT_TIMEOUT)
