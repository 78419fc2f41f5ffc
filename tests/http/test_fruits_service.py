"""The fruits service's routes and status codes, through a real socket and a real Redis."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
import redis

from fruitsplit.adapters.redis_fruits import RedisFruitStore
from fruitsplit.adapters.signing import load_private_key_file
from fruitsplit.core.fruits import VersionedFruit
from fruitsplit.core.record import FruitRecord, decode_record, encode_record
from tests.support.fruits_service import (
    ORIGIN,
    claims_for,
    clear_service_environment,
    public_key_path,
    running_service,
    service_process,
    service_settings,
    sign_es512,
)
from tests.support.processes import free_port
from tests.support.redis import redis_client_for

ARTICLE_CORRUPTION = "bWFya%!@#$WFuxy:pineapple"


@pytest.fixture(autouse=True)
def _no_service_environment(monkeypatch):
    clear_service_environment(monkeypatch)


@pytest.fixture
def service_config(empty_redis, key_file):
    return service_settings(empty_redis.endpoint, public_key_file=public_key_path(key_file))


@pytest.fixture
def service(service_config):
    with running_service(service_config) as running:
        yield running


@pytest.fixture
def client(service):
    with service.client() as http:
        yield http


@pytest.fixture
def db(empty_redis):
    with redis.Redis(port=empty_redis.port, decode_responses=True) as connection:
        yield connection


@pytest.fixture
def signing_key(key_file):
    return load_private_key_file(key_file)


@pytest.fixture
def token_for(signing_key):
    def token(user_id=7, username="marian", *, is_super=False, **overrides):
        claims = claims_for(user_id, username, is_super=is_super, **overrides)
        return sign_es512(claims, signing_key)

    return token


def put_records(db, records):
    for user_id, (username, fruit) in records.items():
        db.set(f"user:{user_id}", encode_record(username, fruit))


def as_set(items):
    return {(item["username"], item["fruit"]) for item in items}


# --- GET / ------------------------------------------------------------------------------


def test_list_is_an_empty_json_array_without_records(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == []


def test_list_shows_every_record_as_username_and_fruit(db, client):
    put_records(db, {1: ("michael", "orange"), 2: ("anna", "apple"), 3: ("a:b zoë", "kiwi")})
    items = client.get("/").json()
    assert sorted(items, key=lambda item: item["username"]) == [
        {"username": "a:b zoë", "fruit": "kiwi"},
        {"username": "anna", "fruit": "apple"},
        {"username": "michael", "fruit": "orange"},
    ]


def test_list_skips_a_corrupt_record_logs_its_key_and_counts_it(db, client, caplog):
    put_records(db, {1: ("michael", "orange")})
    db.set("user:3", ARTICLE_CORRUPTION)
    db.set("user:4", "no separator")
    db.set("user:abc", encode_record("stray", "pear"))
    db.hset("user:5", "fruit", "kiwi")  # another type under user:*: nothing to show

    with caplog.at_level(logging.ERROR):
        response = client.get("/")

    assert response.status_code == 200
    assert response.json() == [{"username": "michael", "fruit": "orange"}]
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert (
        "corrupt record user:3: failed to decode username: illegal base64 data at input byte 5"
        in logged
    )
    assert any(line.startswith("corrupt record user:4: invalid record") for line in logged)
    assert any(line.startswith("corrupt record user:abc:") for line in logged)
    metrics = client.get("/metrics").text
    assert 'fruits_service_corrupt_records_total{kind="bad_base64"} 1.0' in metrics
    assert 'fruits_service_corrupt_records_total{kind="bad_shape"} 1.0' in metrics
    assert 'fruits_service_corrupt_records_total{kind="bad_key"} 1.0' in metrics


def test_list_ignores_the_version_keys_beside_the_records(db, client, token_for):
    response = client.put("/fruit", data={"fruit": "pear"}, headers={"X-Auth-Token": token_for()})
    assert response.status_code == 201
    assert db.get("fruit-version:{user:7}") == "1"
    assert client.get("/").json() == [{"username": "marian", "fruit": "pear"}]


def test_pages_walk_every_record_exactly_once(db, client):
    records = {user_id: (f"user {user_id}", "banana") for user_id in range(250)}
    put_records(db, records)
    seen = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "7"} if cursor is None else {"limit": "7", "cursor": cursor}
        response = client.get("/", params=params)
        assert response.status_code == 200
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        # Whole SCAN steps only: a page passes its limit only by one bucket's keys.
        assert len(page["items"]) <= 2 * 7
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 250, "the walk must end"
    assert len(seen) == 250
    assert as_set(seen) == set(records.values())


def test_one_page_can_hold_everything_up_to_the_limit(db, client):
    put_records(db, {user_id: (f"u{user_id}", "pear") for user_id in range(30)})
    page = client.get("/", params={"limit": "1000"}).json()
    assert len(page["items"]) == 30
    assert page["next_cursor"] is None
    assert client.get("/", params={"cursor": ""}).json()["next_cursor"] is None


def test_a_page_skips_corrupt_records_too(db, client):
    put_records(db, {1: ("michael", "orange")})
    db.set("user:3", ARTICLE_CORRUPTION)
    page = client.get("/", params={"limit": "10"}).json()
    assert page == {"items": [{"username": "michael", "fruit": "orange"}], "next_cursor": None}


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5", " 5"])
def test_a_bad_page_limit_is_400(client, limit):
    response = client.get("/", params={"limit": limit})
    assert response.status_code == 400
    assert "limit" in response.json()["error"]


@pytest.mark.parametrize("cursor", ["!!", "Zm9v", "A" * 3000, "MTI6b3RoZXI"])
def test_a_bad_page_cursor_is_400(client, cursor):
    response = client.get("/", params={"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()["error"]


# --- GET /fruit/{id} --------------------------------------------------------------------


def test_get_fruit_returns_the_users_record(db, client):
    put_records(db, {1: ("michael", "orange")})
    response = client.get("/fruit/1")
    assert response.status_code == 200
    assert response.json() == {"username": "michael", "fruit": "orange"}


def test_get_fruit_reads_leading_zeros_as_the_original_does(db, client):
    put_records(db, {7: ("marian", "kiwi")})
    assert client.get("/fruit/007").json() == {"username": "marian", "fruit": "kiwi"}


def test_get_fruit_is_404_without_a_record(client):
    response = client.get("/fruit/42")
    assert response.status_code == 404
    assert response.json() == {"error": "no fruit recorded for user 42"}


@pytest.mark.parametrize(
    "user_id", ["abc", "-1", "+1", "1.5", "1e3", "%201", "9" * 20, "9223372036854775808", "\u0661"]
)
def test_get_fruit_is_400_for_an_id_that_is_not_a_non_negative_integer(client, user_id):
    response = client.get(f"/fruit/{user_id}")
    assert response.status_code == 400
    assert "user id" in response.json()["error"]


def test_get_fruit_is_409_for_a_corrupt_record_logged_and_counted(db, client, caplog):
    db.set("user:3", ARTICLE_CORRUPTION)
    with caplog.at_level(logging.ERROR):
        response = client.get("/fruit/3")
    assert response.status_code == 409
    assert response.json() == {
        "error": "the record of user 3 is corrupt:"
        " failed to decode username: illegal base64 data at input byte 5"
    }
    assert any(r.getMessage().startswith("corrupt record user:3:") for r in caplog.records)
    assert 'fruits_service_corrupt_records_total{kind="bad_base64"} 1.0' in (
        client.get("/metrics").text
    )


# --- PUT/POST /fruit --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_a_good_token_sets_the_fruit_201_in_the_specs_format(db, client, token_for, method):
    response = client.request(
        method, "/fruit", data={"fruit": " Banana "}, headers={"X-Auth-Token": token_for()}
    )
    assert response.status_code == 201
    assert response.json() == {"username": "marian", "fruit": "banana", "user_id": 7, "version": 1}
    assert response.headers["location"] == "/fruit/7"
    assert db.get("user:7") == "bWFyaWFu:banana"
    assert client.get("/fruit/7").json() == {"username": "marian", "fruit": "banana"}


def test_each_write_gets_the_next_version(db, client, token_for):
    headers = {"X-Auth-Token": token_for()}
    versions = [
        client.put("/fruit", data={"fruit": fruit}, headers=headers).json()["version"]
        for fruit in ("apple", "pear", "orange")
    ]
    assert versions == [1, 2, 3]
    assert db.get("fruit-version:{user:7}") == "3"


def test_the_user_comes_from_the_token_only(db, client, token_for):
    response = client.put(
        "/fruit",
        params={"user": "1", "sub": "user:1"},
        data={"fruit": "pear", "username": "mallory", "user_id": "1"},
        headers={"X-Auth-Token": token_for(7, "marian")},
    )
    assert response.status_code == 201
    assert db.get("user:1") is None
    assert decode_record(db.get("user:7")) == FruitRecord("marian", "pear")


def test_setting_a_fruit_without_a_token_is_401(db, client):
    for headers in ({}, {"X-Auth-Token": ""}, {"Authorization": "Basic abc"}):
        response = client.put("/fruit", data={"fruit": "pear"}, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": "invalid token: an X-Auth-Token header is required"}
        assert response.headers["www-authenticate"] == "Bearer"
    assert db.keys("*") == []


def test_the_token_may_come_as_a_bearer_token(client, token_for):
    response = client.put(
        "/fruit", data={"fruit": "pear"}, headers={"Authorization": f"Bearer {token_for()}"}
    )
    assert response.status_code == 201


def test_a_special_fruit_for_a_normal_user_is_403_and_nothing_is_written(db, client, token_for):
    response = client.put(
        "/fruit", data={"fruit": "pineapple"}, headers={"X-Auth-Token": token_for(is_super=False)}
    )
    assert response.status_code == 403
    assert response.json() == {"error": "only super users may choose pineapple"}
    assert db.keys("*") == []


def test_a_special_fruit_for_a_super_user_is_201(db, client, token_for):
    response = client.put(
        "/fruit", data={"fruit": "kiwi"}, headers={"X-Auth-Token": token_for(is_super=True)}
    )
    assert response.status_code == 201
    assert decode_record(db.get("user:7")).fruit == "kiwi"


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"fruit": "apple:pear"}, "only letters"),
        ({"fruit": "b4n4n4"}, "only letters"),
        ({"fruit": "x" * 33}, "at most 32"),
        ({"fruit": ""}, "required"),
        ({}, "required"),
        ({"fruits": "apple"}, "required"),
    ],
)
def test_a_missing_or_invalid_fruit_is_400_and_nothing_is_written(
    db, client, token_for, form, reason
):
    response = client.put("/fruit", data=form, headers={"X-Auth-Token": token_for()})
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert db.keys("*") == []


def test_the_fruit_may_come_as_multipart_or_in_the_query_string(db, client, token_for):
    headers = {"X-Auth-Token": token_for()}
    multipart = client.put("/fruit", files={"fruit": (None, "pear")}, headers=headers)
    assert multipart.status_code == 201
    assert multipart.json()["fruit"] == "pear"
    query = client.put("/fruit", params={"fruit": "apple"}, headers=headers)
    assert query.status_code == 201
    assert decode_record(db.get("user:7")).fruit == "apple"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"--broken\r\nno headers here", "multipart/form-data; boundary=x", 400),
        (b"fruit=%FF%FE", "application/x-www-form-urlencoded", 400),
        (b"fruit=\xff", "application/x-www-form-urlencoded", 400),
        (b"&".join([b"a=1"] * 40), "application/x-www-form-urlencoded", 400),
        (b"fruit=" + b"a" * 20_000, "application/x-www-form-urlencoded", 413),
    ],
)
def test_a_malformed_or_oversized_body_is_4xx_never_500(
    db, client, token_for, body, content_type, status
):
    response = client.put(
        "/fruit",
        content=body,
        headers={"X-Auth-Token": token_for(), "Content-Type": content_type},
    )
    assert response.status_code == status
    assert "error" in response.json()
    assert db.keys("*") == []


def test_a_file_in_place_of_the_fruit_is_400(client, token_for):
    response = client.put(
        "/fruit", files={"fruit": ("f.txt", b"pear")}, headers={"X-Auth-Token": token_for()}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/fruit"), ("DELETE", "/fruit"), ("PATCH", "/fruit"), ("DELETE", "/fruit/1"),
     ("PUT", "/fruit/1"), ("POST", "/")],
)  # fmt: skip
def test_other_methods_are_405_with_a_json_error(client, method, path):
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.json() == {"error": "Method Not Allowed"}
    assert "allow" in response.headers


def test_an_unknown_path_is_404_with_a_json_error(client):
    response = client.get("/nothing/here")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


# --- compatibility with the monolith's writes and reads ---------------------------------


async def test_records_the_monolith_dual_write_made_are_served(empty_redis, client):
    async with redis_client_for(empty_redis) as connection:
        store = RedisFruitStore(connection)
        written = await store.put_versioned(
            [VersionedFruit(1, "michael", "orange", 4), VersionedFruit(2, "zoë", "kiwi", 1)]
        )
    assert written == [True, True]
    assert client.get("/fruit/1").json() == {"username": "michael", "fruit": "orange"}
    assert as_set(client.get("/").json()) == {("michael", "orange"), ("zoë", "kiwi")}


async def test_the_service_write_is_read_by_the_monolith_and_orders_after_its_writes(
    empty_redis, client, token_for
):
    headers = {"X-Auth-Token": token_for(7, "marian")}
    async with redis_client_for(empty_redis) as connection:
        store = RedisFruitStore(connection)
        # The monolith's dual write got there first, at its version 4.
        assert await store.put_versioned([VersionedFruit(7, "marian", "apple", 4)]) == [True]

        response = client.put("/fruit", data={"fruit": "pear"}, headers=headers)
        assert response.json()["version"] == 5
        (raw,) = await store.fetch_many([7])
        assert decode_record(raw) == FruitRecord("marian", "pear")

        # A late retry of the monolith's older write does not undo the service's.
        assert await store.put_versioned([VersionedFruit(7, "marian", "apple", 4)]) == [False]
        (raw,) = await store.fetch_many([7])
        assert decode_record(raw).fruit == "pear"


# --- CORS -------------------------------------------------------------------------------


def test_a_preflight_allows_the_specs_methods_and_headers(client):
    response = client.options(
        "/fruit",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "X-Auth-Token, Content-Type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "POST", "PUT"}
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert allowed == {"Authorization", "Content-Type", "X-Auth-Token"}
    assert response.headers["vary"] == "Origin"


@pytest.mark.parametrize(("method", "path"), [("GET", "/"), ("GET", "/fruit/1"), ("PUT", "/fruit")])
def test_every_response_names_the_configured_origin(client, method, path):
    response = client.request(method, path, headers={"Origin": ORIGIN})
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["vary"] == "Origin"


def test_the_allowed_origin_follows_the_setting(empty_redis, key_file):
    settings = service_settings(
        empty_redis.endpoint,
        public_key_file=public_key_path(key_file),
        http_origin="https://fruits.example",
    )
    with running_service(settings) as running, running.client() as http:
        response = http.get("/", headers={"Origin": "https://evil.example"})
        assert response.headers["access-control-allow-origin"] == "https://fruits.example"


# --- metrics, health, OpenAPI, failures -------------------------------------------------


def test_metrics_time_requests_by_route_template(db, client, token_for):
    put_records(db, {1: ("michael", "orange")})
    client.get("/fruit/1")
    client.get("/fruit/2")
    client.put("/fruit", data={"fruit": "pear"}, headers={"X-Auth-Token": token_for()})
    client.put("/fruit", data={"fruit": "pear"}, headers={"X-Auth-Token": "nonsense"})
    text = client.get("/metrics").text
    assert (
        'http_request_duration_seconds_count{method="GET",route="/fruit/{id}",status="200"} 1.0'
        in text
    )
    assert (
        'http_request_duration_seconds_count{method="GET",route="/fruit/{id}",status="404"} 1.0'
        in text
    )
    assert (
        'http_request_duration_seconds_count{method="PUT",route="/fruit",status="201"} 1.0' in text
    )
    assert 'fruits_service_token_rejections_total{kind="malformed"} 1.0' in text
    assert "fruits_service_fruit_writes_total 1.0" in text
    # Labels come from closed sets, never from the data.
    assert "user:1" not in text


def test_healthz_says_ok_when_redis_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_openapi_describes_every_route(client):
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/",
        "/fruit/{id}",
        "/fruit",
        "/metrics",
        "/healthz",
        "/openapi.json",
    }
    assert set(document["paths"]["/fruit"]) == {"put", "post"}
    assert {"201", "400", "401", "403"} <= set(document["paths"]["/fruit"]["put"]["responses"])
    assert {"200", "400", "404", "409"} <= set(document["paths"]["/fruit/{id}"]["get"]["responses"])


def test_redis_down_is_503_not_500(key_file, token_for):
    settings = service_settings(
        f"127.0.0.1:{free_port()}", public_key_file=public_key_path(key_file), redis_timeout_s=0.2
    )
    with running_service(settings) as running, running.client() as http:
        for response in (
            http.get("/"),
            http.get("/fruit/1"),
            http.get("/healthz"),
            http.put("/fruit", data={"fruit": "pear"}, headers={"X-Auth-Token": token_for()}),
        ):
            assert response.status_code == 503
            assert response.json() == {"error": "the fruit store is unavailable"}
        assert "fruits_service_store_errors_total 4.0" in http.get("/metrics").text


# --- the original's connection leak -----------------------------------------------------


def redis_client_count(db) -> int:
    return len(db.client_list())


async def test_redis_connections_stay_flat_under_sustained_load(
    db, empty_redis, key_file, token_for
):
    put_records(db, {user_id: (f"user {user_id}", "pear") for user_id in range(50)})
    headers = {"X-Auth-Token": token_for()}
    # httpx is the slow side here (a few hundred requests a second on two cores), so
    # more concurrency would only lengthen the test, not load the service harder.
    concurrency = 8
    gate = asyncio.Semaphore(concurrency)

    async def one(http: httpx.AsyncClient, number: int) -> int:
        async with gate:
            if number % 3 == 0:
                response = await http.put("/fruit", data={"fruit": "pear"}, headers=headers)
            elif number % 3 == 1:
                response = await http.get(f"/fruit/{number % 60}")
            else:
                response = await http.get("/")
            return response.status_code

    async def wave(http: httpx.AsyncClient, count: int) -> list[int]:
        return await asyncio.gather(*(one(http, number) for number in range(count)))

    env = {
        "REDIS_ENDPOINT": empty_redis.endpoint,
        "PUBLIC_KEY_FILE": str(public_key_path(key_file)),
        "LOG_LEVEL": "warning",
    }
    with service_process(env) as url:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as http:
            statuses = await wave(http, 300)
            after_warm_up = redis_client_count(db)
            for _ in range(4):
                statuses += await wave(http, 500)
            after_load = redis_client_count(db)

    assert len(statuses) == 2300
    assert set(statuses) <= {200, 201, 404}
    # One pooled connection per concurrent request at most (plus this observer),
    # however many requests came: a connection per request would show thousands.
    # (Not "no more than after the warm-up": the first wave may not have reached
    # full concurrency, and one more connection then is no leak.)
    assert after_warm_up <= concurrency + 1
    assert after_load <= concurrency + 1
