"""load_settings: complete, missing, unknown and malformed variables; secrets stay hidden."""

from __future__ import annotations

from typing import Final

import pytest

from app.settings import CommercetoolsSettings, Secret, Settings, SettingsError, load_gateway_settings, load_settings

CT_SECRET: Final = "ct-secret-VALUE-8c1d"
JWT_SECRET: Final = "jwt-secret-VALUE-0123456789abcdefgh"  # 35 characters
NM_SECRET: Final = "nm-secret-VALUE-77aa"
NM_PASSWORD: Final = "nm-password-VALUE-p4ss"
CACHE_KEY: Final = "cache-key-VALUE-0123456789abcdefghij"  # 36 characters

REQUIRED_CTP: Final = ("CTP_PROJECT_KEY", "CTP_CLIENT_ID", "CTP_CLIENT_SECRET", "CTP_AUTH_URL", "CTP_API_URL")


def minimal_env() -> dict[str, str]:
    return {
        "CTP_PROJECT_KEY": "demo-shop",
        "CTP_CLIENT_ID": "client-1",
        "CTP_CLIENT_SECRET": CT_SECRET,
        "CTP_AUTH_URL": "https://auth.europe-west1.gcp.commercetools.com",
        "CTP_API_URL": "https://api.europe-west1.gcp.commercetools.com",
        "GATEWAY_JWT_SECRET": JWT_SECRET,
    }


def complete_env() -> dict[str, str]:
    return {
        **minimal_env(),
        "CTP_AUTH_URL": "https://auth.europe-west1.gcp.commercetools.com/",
        "CTP_SCOPES": "view_orders:demo-shop view_customers:demo-shop",
        "CTP_TIMEOUT_SECONDS": "2.5",
        "CTP_DEADLINE_SECONDS": "6",
        "CTP_MAX_ATTEMPTS": " 3 ",
        "CTP_BACKOFF_BASE_SECONDS": "0.05",
        "CTP_BACKOFF_CAP_SECONDS": "1",
        "CTP_TOKEN_LEEWAY_SECONDS": "120",
        "GATEWAY_JWT_ISSUER": "issuer-x",
        "GATEWAY_JWT_AUDIENCE": "aud-y",
        "GATEWAY_DATA_DIR": "/var/lib/ctnm",
        "GATEWAY_MAPPINGS_DIR": "/etc/ctnm/mappings",
        "GATEWAY_EVENTS_SECRET": "events-secret-VALUE",
        "GATEWAY_LOG_LEVEL": "DEBUG",
        "NOVOMIND_BASE_URL": "https://iagent.example.com/api/",
        "NOVOMIND_CLIENT_ID": "nm-client",
        "NOVOMIND_CLIENT_SECRET": NM_SECRET,
        "NOVOMIND_USERNAME": "svc-gateway",
        "NOVOMIND_PASSWORD": NM_PASSWORD,
        "REDIS_URL": "rediss://cache.example.com:6380/2",
        "GATEWAY_CACHE_KEY": CACHE_KEY,
        # Unrelated variables are ignored.
        "PATH": "/usr/bin",
        "CTPX_SOMETHING": "not our prefix",
    }


def settings_error(environ: dict[str, str]) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ)
    return caught.value


def test_complete_environment_loads() -> None:
    settings = load_settings(complete_env())

    ct = settings.commercetools
    assert ct.project_key == "demo-shop"
    assert ct.client_id == "client-1"
    assert ct.client_secret.reveal() == CT_SECRET
    assert ct.auth_url == "https://auth.europe-west1.gcp.commercetools.com"  # trailing slash dropped
    assert ct.api_url == "https://api.europe-west1.gcp.commercetools.com"
    assert ct.scopes == "view_orders:demo-shop view_customers:demo-shop"
    assert (ct.timeout_seconds, ct.deadline_seconds, ct.max_attempts) == (2.5, 6.0, 3)
    assert (ct.backoff_base_seconds, ct.backoff_cap_seconds, ct.token_leeway_seconds) == (0.05, 1.0, 120)

    gw = settings.gateway
    assert gw.jwt_secret == Secret(JWT_SECRET)
    assert (gw.jwt_issuer, gw.jwt_audience, gw.log_level) == ("issuer-x", "aud-y", "DEBUG")
    assert (gw.data_dir, gw.mappings_dir) == ("/var/lib/ctnm", "/etc/ctnm/mappings")
    assert gw.events_secret is not None
    assert gw.events_secret.reveal() == "events-secret-VALUE"

    assert settings.novomind is not None
    assert settings.novomind.base_url == "https://iagent.example.com/api/"
    assert settings.novomind.password.reveal() == NM_PASSWORD
    assert settings.redis_url == "rediss://cache.example.com:6380/2"


def test_minimal_environment_takes_defaults() -> None:
    settings = load_settings(minimal_env())

    ct = settings.commercetools
    assert ct.scopes == ""
    assert (ct.timeout_seconds, ct.deadline_seconds, ct.max_attempts, ct.token_leeway_seconds) == (3.0, 8.0, 4, 300)
    assert settings.gateway.jwt_issuer == "ctnm"
    assert settings.gateway.jwt_audience == "ct-novomind-gateway"
    assert settings.novomind is None
    assert settings.redis_url is None


@pytest.mark.parametrize("variable", REQUIRED_CTP)
@pytest.mark.parametrize("how", ["absent", "blank"])
def test_each_missing_required_commercetools_variable_is_named(variable: str, how: str) -> None:
    environ = minimal_env()
    if how == "absent":
        del environ[variable]
    else:
        environ[variable] = "   "

    error = settings_error(environ)
    assert error.variable == variable
    assert error.problem == "missing"
    assert str(error) == f"{variable}: missing"


@pytest.mark.parametrize("variable", ["CTP_FOO", "CTP_CLIENTSECRET", "GATEWAY_JWT_SECRETS", "NOVOMIND_URL"])
def test_unknown_variable_in_a_known_group_is_named(variable: str) -> None:
    error = settings_error({**minimal_env(), variable: "x"})
    assert error.variable == variable
    assert "unknown variable" in error.problem
    assert str(error).startswith(f"{variable}: ")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CTP_MAX_ATTEMPTS", "three"),
        ("CTP_MAX_ATTEMPTS", "0"),
        ("CTP_MAX_ATTEMPTS", "11"),
        ("CTP_MAX_ATTEMPTS", "2.5"),
        ("CTP_TOKEN_LEEWAY_SECONDS", "-1"),
        ("CTP_TIMEOUT_SECONDS", "fast"),
        ("CTP_TIMEOUT_SECONDS", "0"),
        ("CTP_TIMEOUT_SECONDS", "nan"),
        ("CTP_DEADLINE_SECONDS", "inf"),
        ("CTP_DEADLINE_SECONDS", "601"),
        ("CTP_AUTH_URL", "auth.europe-west1.gcp.commercetools.com"),
        ("CTP_AUTH_URL", "ftp://auth.example.com"),
        ("CTP_API_URL", "https://"),
        ("CTP_API_URL", "https://api example.com"),
        ("CTP_PROJECT_KEY", "Demo"),
        ("CTP_PROJECT_KEY", "x"),
        ("CTP_PROJECT_KEY", "demo shop"),
        ("GATEWAY_LOG_LEVEL", "verbose"),
        ("GATEWAY_JWKS_URL", "not a url"),
    ],
)
def test_malformed_value_is_named(variable: str, value: str) -> None:
    error = settings_error({**minimal_env(), variable: value})
    assert error.variable == variable
    assert error.problem.startswith("malformed")
    assert str(error).startswith(f"{variable}: malformed")


def test_malformed_novomind_url_is_named() -> None:
    environ = complete_env()
    environ["NOVOMIND_BASE_URL"] = "iagent.example.com"
    assert settings_error(environ).variable == "NOVOMIND_BASE_URL"


def test_partial_novomind_group_names_the_missing_variable() -> None:
    environ = complete_env()
    del environ["NOVOMIND_PASSWORD"]
    error = settings_error(environ)
    assert (error.variable, error.problem) == ("NOVOMIND_PASSWORD", "missing")


@pytest.mark.parametrize("value", ["localhost:6379", "http://cache:6379", "redis:/cache", "REDIS://cache"])
def test_malformed_redis_url_is_named(value: str) -> None:
    error = settings_error({**minimal_env(), "REDIS_URL": value})
    assert error.variable == "REDIS_URL"
    assert error.problem.startswith("malformed")


@pytest.mark.parametrize("value", ["redis://localhost:6379/0", "rediss://cache:6380"])
def test_redis_url_accepted(value: str) -> None:
    environ = {**minimal_env(), "REDIS_URL": f" {value} ", "GATEWAY_CACHE_KEY": CACHE_KEY}
    assert load_settings(environ).redis_url == value


def test_redis_without_a_cache_key_is_refused() -> None:
    error = settings_error({**minimal_env(), "REDIS_URL": "redis://localhost:6379/0"})
    assert (error.variable, error.problem.split(" ")[0]) == ("GATEWAY_CACHE_KEY", "missing")


def test_short_cache_key_is_refused_without_echoing_it() -> None:
    short = "c" * 31
    error = settings_error({**minimal_env(), "GATEWAY_CACHE_KEY": short})
    assert error.variable == "GATEWAY_CACHE_KEY"
    assert "too short" in error.problem
    assert short not in str(error)


def test_cache_key_stays_hidden() -> None:
    settings = load_settings({**minimal_env(), "GATEWAY_CACHE_KEY": CACHE_KEY})
    assert CACHE_KEY not in repr(settings)


def test_blank_redis_url_means_embedded() -> None:
    assert load_settings({**minimal_env(), "REDIS_URL": "  "}).redis_url is None


def test_jwt_secret_shorter_than_32_characters_is_refused_without_echoing_it() -> None:
    short = "short-secret-VALUE-0123456789ab"  # 31 characters
    assert len(short) == 31
    error = settings_error({**minimal_env(), "GATEWAY_JWT_SECRET": short})
    assert error.variable == "GATEWAY_JWT_SECRET"
    assert "too short" in error.problem
    assert short not in str(error)


def test_jwt_secret_of_exactly_32_characters_is_accepted() -> None:
    settings = load_settings({**minimal_env(), "GATEWAY_JWT_SECRET": "x" * 32})
    assert settings.gateway.jwt_secret == Secret("x" * 32)


def test_missing_caller_authentication_is_named() -> None:
    environ = minimal_env()
    del environ["GATEWAY_JWT_SECRET"]
    error = settings_error(environ)
    assert error.variable == "GATEWAY_JWT_SECRET"
    assert error.problem.startswith("missing")


@pytest.mark.parametrize("with_secret", [False, True])
def test_jwks_url_is_accepted_alone_or_with_the_secret(with_secret: bool) -> None:
    environ = minimal_env()
    if not with_secret:
        del environ["GATEWAY_JWT_SECRET"]
    environ["GATEWAY_JWKS_URL"] = "https://idp.example.com/.well-known/jwks.json"
    assert load_settings(environ).gateway.jwks_url == "https://idp.example.com/.well-known/jwks.json"


def test_plain_http_jwks_url_off_loopback_is_refused() -> None:
    environ = minimal_env()
    environ["GATEWAY_JWKS_URL"] = "http://idp.example.com/jwks.json"
    error = settings_error(environ)
    assert error.variable == "GATEWAY_JWKS_URL"


def test_secrets_never_appear_in_repr_or_str() -> None:
    settings = load_settings(complete_env())
    for text in (repr(settings), str(settings), repr(settings.commercetools), repr(settings.novomind)):
        for secret in (CT_SECRET, JWT_SECRET, NM_SECRET, NM_PASSWORD, "events-secret-VALUE"):
            assert secret not in text
    assert "Secret('***')" in repr(settings.commercetools)


def test_secret_hides_itself_but_compares_by_value() -> None:
    secret = Secret("hunter2-VALUE")
    assert repr(secret) == str(secret) == "Secret('***')"
    assert f"{secret}" == "Secret('***')"
    assert secret.reveal() == "hunter2-VALUE"
    assert secret == Secret("hunter2-VALUE")
    assert secret != Secret("other")
    assert secret != "hunter2-VALUE"
    assert hash(secret) == hash(Secret("hunter2-VALUE"))


def test_commercetools_settings_built_directly_drop_trailing_slashes() -> None:
    ct = CommercetoolsSettings(
        project_key="demo",
        client_id="cid",
        client_secret=Secret("s"),
        auth_url="http://auth.test//",
        api_url="http://api.test/",
    )
    assert (ct.auth_url, ct.api_url) == ("http://auth.test", "http://api.test")
    assert isinstance(load_settings(minimal_env()), Settings)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"GATEWAY_WIDGET_SECRET": "short"}, "GATEWAY_WIDGET_SECRET"),
        ({"GATEWAY_WIDGET_FRAME_ANCESTORS": "https://ok.example 'unsafe-inline'"}, "GATEWAY_WIDGET_FRAME_ANCESTORS"),
        ({"GATEWAY_WIDGET_FRAME_ANCESTORS": "https://desk.example/path"}, "GATEWAY_WIDGET_FRAME_ANCESTORS"),
        ({"GATEWAY_WIDGET_FRAME_ANCESTORS": "https://a.example;script-src"}, "GATEWAY_WIDGET_FRAME_ANCESTORS"),
    ],
)
def test_widget_settings_are_checked(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_gateway_settings({"GATEWAY_JWT_SECRET": "j" * 40, **env})


def test_widget_frame_ancestors_accepts_origins() -> None:
    gateway = load_gateway_settings(
        {"GATEWAY_JWT_SECRET": "j" * 40, "GATEWAY_WIDGET_FRAME_ANCESTORS": "https://desk.example http://127.0.0.1:9000"}
    )
    assert gateway.widget_frame_ancestors.split() == ["https://desk.example", "http://127.0.0.1:9000"]
