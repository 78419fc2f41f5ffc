"""Every metric the apps export, with its help text and its closed label set."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from fruitsplit.core.phases import Phase


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

        # The move to Redis.
        self.phase = Gauge(
            "fruits_phase",
            "1 for the migration phase in force, 0 for the others",
            ["phase"],
            registry=r,
        )
        self.secondary_write_failures = Counter(
            "fruits_secondary_write_failures",
            "Writes to the secondary store that failed and were left to the outbox",
            registry=r,
        )
        self.outbox_depth = Gauge(
            "fruits_outbox_depth",
            "Fruit writes not yet confirmed by the secondary store",
            registry=r,
        )
        self.outbox_oldest_age = Gauge(
            "fruits_outbox_oldest_age_seconds", "Age of the oldest undelivered write", registry=r
        )
        self.outbox_failing = Gauge(
            "fruits_outbox_failing", "Undelivered writes that failed at least once", registry=r
        )
        self.outbox_delivered = Counter(
            "fruits_outbox_delivered", "Writes delivered from the outbox", registry=r
        )
        self.shadow_comparisons = Counter(
            "fruits_shadow_comparisons", "Shadow reads compared", ["experiment"], registry=r
        )
        self.shadow_mismatches = Counter(
            "fruits_shadow_mismatches",
            "Differences found by shadow reads, by kind",
            ["experiment", "kind"],
            registry=r,
        )
        self.shadow_ignored = Counter(
            "fruits_shadow_ignored",
            "Differences matched by an ignore rule",
            ["experiment"],
            registry=r,
        )
        self.shadow_errors = Counter(
            "fruits_shadow_errors", "Shadow reads that failed", ["experiment"], registry=r
        )
        self.shadow_skipped = Counter(
            "fruits_shadow_skipped",
            "Shadow reads skipped because enough were under way",
            ["experiment"],
            registry=r,
        )
        self.shadow_duration = Histogram(
            "fruits_shadow_duration_seconds",
            "Time taken by each side of a shadow read",
            ["experiment", "path"],
            registry=r,
        )

    def show_phase(self, current: Phase) -> None:
        for phase in Phase:
            self.phase.labels(phase.value).set(1 if phase is current else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class ServiceMetrics:
    """The fruits microservice's metrics (a registry of its own, apart from the monolith's)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.request_duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer a request, by route template",
            ["method", "route", "status"],
            registry=r,
        )
        self.corrupt_records = Counter(
            "fruits_service_corrupt_records",
            "Records under user:* that could not be served, by kind"
            " (bad_key, bad_shape, bad_base64)",
            ["kind"],
            registry=r,
        )
        self.token_rejections = Counter(
            "fruits_service_token_rejections",
            "Requests refused for their token, by kind (see core.errors.InvalidToken.KINDS)",
            ["kind"],
            registry=r,
        )
        self.fruit_writes = Counter(
            "fruits_service_fruit_writes", "Fruits written by the service", registry=r
        )
        self.jwks_fetches = Counter(
            "fruits_service_jwks_fetches",
            "Fetches of the monolith's JWKS, by outcome (ok, error)",
            ["outcome"],
            registry=r,
        )
        self.store_errors = Counter(
            "fruits_service_store_errors",
            "Requests answered 503 because Redis failed or timed out",
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
