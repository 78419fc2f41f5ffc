"""Every metric the apps export, with its help text and its closed label set."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        # The original's five counters, under the original's names.
        self.index_accesses = Counter("index_accesses", "Times the page was served", registry=r)
        self.set_fruit_accesses = Counter(
            "set_fruit_accesses", "Requests to set a fruit", registry=r
        )
        self.get_token_accesses = Counter("get_token_accesses", "Requests for a token", registry=r)
        self.login_user_accesses = Counter("login_user_accesses", "Login requests", registry=r)
        self.logout_user_accesses = Counter("logout_user_accesses", "Logout requests", registry=r)
        self.login_failures = Counter(
            "login_failures", "Failed logins by reason", ["reason"], registry=r
        )
        self.request_duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer a request, by route template",
            ["method", "route", "status"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
