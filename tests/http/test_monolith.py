"""The monolith's routes and status codes, through a real server socket."""

import re
import time

import httpx
import pytest

from fruitsplit.web.monolith.app import create_app
from fruitsplit.wiring import build_monolith
from tests.support.accounts import add_user
from tests.support.monolith import fast_hasher, monolith_settings
from tests.support.servers import serve_in_thread
from tests.support.tokens import verify_es512

PASSWORD = "correct horse"


def log_in(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/login", data={"username": username, "password": password})


def csrf_token_of(client: httpx.Client) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    assert match, "the logged-in page carries a CSRF token"
    return match.group(1)


@pytest.fixture
def anna(settings):
    return add_user(settings, "anna", fruit="apple")


@pytest.fixture
def client(running_monolith):
    with running_monolith.client() as http:
        yield http


# --- the page ---------------------------------------------------------------------------


def test_page_lists_every_users_fruit_and_a_login_form(settings, running_monolith, client):
    add_user(settings, "michael", fruit="orange")
    add_user(settings, "marian", is_super=True, fruit="pineapple")
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "michael: orange" in response.text
    assert "marian: pineapple" in response.text
    assert 'action="/login"' in response.text


def test_page_escapes_usernames(settings, running_monolith, client):
    add_user(settings, "<script>alert(1)</script>", fruit="kiwi")
    page = client.get("/").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;: kiwi" in page


def test_page_has_a_strict_content_security_policy(client):
    policy = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


def test_page_scripts_and_styles_are_served_locally(client):
    assert client.get("/static/page.js").status_code == 200
    assert client.get("/static/page.css").status_code == 200


# --- login and logout -------------------------------------------------------------------


def test_login_redirects_home_with_a_safe_session_cookie(anna, client):
    response = log_in(client, "anna")
    assert response.status_code == 302
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert re.match(r"session=[A-Za-z0-9_-]{43,};", cookie)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie
    assert "Logged in as" in client.get("/").text


def test_session_cookie_is_secure_when_configured(tmp_path, key_file):
    settings = monolith_settings(tmp_path, key_file, cookie_secure=True)
    add_user(settings, "anna")
    app = create_app(build_monolith(settings, hasher=fast_hasher()))
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as http:
        assert "Secure" in log_in(http, "anna").headers["set-cookie"]


def test_each_login_gets_a_new_session_token(anna, running_monolith):
    with running_monolith.client() as first, running_monolith.client() as second:
        assert log_in(first, "anna").cookies["session"] != log_in(second, "anna").cookies["session"]


def test_wrong_credentials_are_401(anna, client):
    assert log_in(client, "anna", "wrong password").status_code == 401
    assert log_in(client, "nobody").status_code == 401


def test_login_without_fields_is_400(client):
    assert client.post("/login", data={"username": "anna"}).status_code == 400


def test_login_when_already_logged_in_is_400(anna, client):
    log_in(client, "anna")
    assert log_in(client, "anna").status_code == 400


def test_too_many_failed_logins_are_429_with_retry_after(anna, client):
    statuses = [log_in(client, "anna", "wrong password").status_code for _ in range(5)]
    assert statuses == [401] * 5
    limited = log_in(client, "anna")
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 300


def test_logout_link_ends_the_session(anna, client):
    log_in(client, "anna")
    stale = client.cookies["session"]
    response = client.get("/logout")
    assert response.status_code == 302
    assert client.get("/token").status_code == 401
    # The server forgot the session: the old cookie is useless, not only deleted.
    with httpx.Client(base_url=str(client.base_url), cookies={"session": stale}) as replay:
        assert replay.get("/token").status_code == 401


def test_logout_post_needs_the_pages_csrf_token(anna, client):
    log_in(client, "anna")
    origin = {"Origin": str(client.base_url)}
    assert client.post("/logout", data={"csrf_token": "forged"}, headers=origin).status_code == 403
    assert client.get("/token").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token_of(client)}, headers=origin)
    assert response.status_code == 302
    assert client.get("/token").status_code == 401


# --- fruits -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_a_plain_client_sets_its_fruit(anna, client, method):
    log_in(client, "anna")
    response = client.request(method, "/fruit", data={"fruit": "Banana"})
    assert response.status_code == 302
    assert "anna: banana" in client.get("/").text


def test_the_fruit_may_come_in_the_query_string_as_with_the_original(anna, client):
    log_in(client, "anna")
    assert client.put("/fruit", params={"fruit": "pear"}).status_code == 302
    assert "anna: pear" in client.get("/").text


def test_setting_a_fruit_needs_a_login(client):
    assert client.put("/fruit", data={"fruit": "apple"}).status_code == 401


def test_special_fruits_are_403_for_a_normal_user(anna, client):
    log_in(client, "anna")
    response = client.put("/fruit", data={"fruit": "pineapple"})
    assert response.status_code == 403
    assert "only super users" in response.text
    assert "anna: apple" in client.get("/").text


def test_special_fruits_are_allowed_for_a_super_user(settings, running_monolith, client):
    add_user(settings, "marian", is_super=True)
    log_in(client, "marian")
    assert client.put("/fruit", data={"fruit": "kiwi"}).status_code == 302


@pytest.mark.parametrize("fruit", ["", "apple:pear", "x" * 33, "b4n4n4"])
def test_invalid_fruit_names_are_400_with_a_reason(anna, client, fruit):
    log_in(client, "anna")
    response = client.put("/fruit", data={"fruit": fruit})
    assert response.status_code == 400
    assert "fruit" in response.text


@pytest.mark.parametrize("method", ["GET", "DELETE", "PATCH"])
def test_other_methods_on_fruit_are_405(client, method):
    assert client.request(method, "/fruit").status_code == 405


def test_a_malformed_body_is_400_not_500(anna, client):
    log_in(client, "anna")
    response = client.post(
        "/fruit",
        content=b"--broken\r\nno headers here",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 400


# --- cross-site protection --------------------------------------------------------------


def test_a_form_post_from_another_site_is_refused(anna, client):
    log_in(client, "anna")
    token = csrf_token_of(client)
    evil = client.post(
        "/fruit",
        data={"fruit": "pear", "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert evil.status_code == 403
    cross = client.post(
        "/fruit",
        data={"fruit": "pear", "csrf_token": token},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403
    assert "anna: apple" in client.get("/").text


def test_a_login_post_from_another_site_is_refused(anna, client):
    response = client.post(
        "/login",
        data={"username": "anna", "password": PASSWORD},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403


def test_a_same_origin_browser_post_needs_the_csrf_token(anna, client):
    log_in(client, "anna")
    browser = {"Origin": str(client.base_url), "Sec-Fetch-Site": "same-origin"}
    assert client.post("/fruit", data={"fruit": "pear"}, headers=browser).status_code == 403
    ok = client.post(
        "/fruit", data={"fruit": "pear", "csrf_token": csrf_token_of(client)}, headers=browser
    )
    assert ok.status_code == 302


# --- tokens -----------------------------------------------------------------------------


def test_token_needs_a_login(client):
    assert client.get("/token").status_code == 401


def test_token_is_405_for_other_methods(client):
    assert client.post("/token").status_code == 405


def test_token_is_an_es512_jwt_with_the_specs_claims(settings, running_monolith, client, key_file):
    user = add_user(settings, "marian", is_super=True)
    log_in(client, "marian")
    before = int(time.time())
    response = client.get("/token")
    after = int(time.time())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    header, claims = verify_es512(response.text, key_file.with_name("server.pem.pub").read_bytes())
    assert header["alg"] == "ES512"
    assert claims["sub"] == f"user:{user.id}"
    assert claims["aud"] == "service:fruits"
    assert claims["super"] is True
    assert claims["username"] == "marian"
    assert before + 30 <= claims["exp"] <= after + 30


def test_token_lifetime_follows_the_setting(tmp_path, key_file):
    settings = monolith_settings(tmp_path, key_file, token_lifetime_s=120)
    add_user(settings, "anna")
    app = create_app(build_monolith(settings, hasher=fast_hasher()))
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as http:
        log_in(http, "anna")
        _, claims = verify_es512(
            http.get("/token").text, key_file.with_name("server.pem.pub").read_bytes()
        )
    assert 119 <= claims["exp"] - claims["iat"] <= 121


def test_jwks_publishes_the_key_named_by_the_tokens_kid(anna, client):
    import jwt

    log_in(client, "anna")
    token = client.get("/token").text
    jwks = client.get("/.well-known/jwks.json").json()
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [key for key in jwks["keys"] if key["kid"] == kid]
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("EC", "P-521", "ES512")
    claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["ES512"], audience="service:fruits")
    assert claims["username"] == "anna"


# --- metrics ----------------------------------------------------------------------------


def test_metrics_expose_the_originals_counters_and_route_timings(anna, client):
    client.get("/")
    log_in(client, "anna")
    client.put("/fruit", data={"fruit": "pear"})
    client.get("/token")
    client.get("/logout")
    text = client.get("/metrics").text
    for counter in (
        "index_accesses_total",
        "set_fruit_accesses_total",
        "get_token_accesses_total",
        "login_user_accesses_total",
        "logout_user_accesses_total",
    ):
        assert re.search(rf"^{counter} [1-9]", text, re.MULTILINE), counter
    assert (
        'http_request_duration_seconds_count{method="PUT",route="/fruit",status="302"} 1.0' in text
    )


def test_metrics_can_require_a_bearer_token(tmp_path, key_file):
    settings = monolith_settings(tmp_path, key_file, metrics_token="s3cret")
    app = create_app(build_monolith(settings, hasher=fast_hasher()))
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as http:
        assert http.get("/metrics").status_code == 401
        assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert http.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200
