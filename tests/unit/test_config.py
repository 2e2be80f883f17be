from pathlib import Path

import pytest

from gateway.config import ConfigError, environment_names, load_settings

HASH = "a" * 64


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


def test_defaults_without_file() -> None:
    settings = load_settings(None, environ={})
    assert settings.server.port == 8000
    assert settings.server.base_path == "/flow"
    assert settings.store.backend == "sqlite"


def test_file_values_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nport = 9001\n[[accounts]]\nsession_token = "st"\ngroups = ["ultra"]\n')
    settings = load_settings(path, environ={})
    assert settings.server.port == 9001
    assert settings.accounts[0].groups == ("ultra",)


@pytest.mark.parametrize(
    ("environ", "check"),
    [
        ({"GATEWAY_PORT": "8123"}, lambda s: s.server.port == 8123),
        ({"GATEWAY_SERVER_PORT": "8124"}, lambda s: s.server.port == 8124),
        ({"GATEWAY_FLOW_API_BASE_URL": "http://x:1"}, lambda s: s.flow.api_base_url == "http://x:1"),
        ({"GATEWAY_MEDIA_ALLOW_PRIVATE_URLS": "true"}, lambda s: s.media.allow_private_urls is True),
        ({"GATEWAY_CAPTCHA_MIN_SCORE": "0.7"}, lambda s: s.captcha.min_score == 0.7),
        (
            {"GATEWAY_SERVER_CORS_ORIGINS": "https://a.example, https://b.example"},
            lambda s: s.server.cors_origins == ("https://a.example", "https://b.example"),
        ),
        (
            {"GATEWAY_SERVER_CORS_ORIGINS": '["https://a.example"]'},
            lambda s: s.server.cors_origins == ("https://a.example",),
        ),
        ({"GATEWAY_ADMIN_LISTEN": "[::1]:9100"}, lambda s: s.admin.listen == "[::1]:9100"),
    ],
)
def test_environment_overrides(tmp_path: Path, environ: dict[str, str], check: object) -> None:
    settings = load_settings(write(tmp_path, "[server]\nport = 9001\n"), environ=environ)
    assert check(settings)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "environ", "names"),
    [
        ("[server]\nport = 'abc'\n", {}, "server.port"),
        ("[server]\nprot = 1\n", {}, "prot"),
        ("[flow]\nmax_attempts = 0\n", {}, "flow.max_attempts"),
        ("[[licences]]\nid = 'x'\nkey_sha256 = 'short'\n", {}, "licences[0].key_sha256"),
        ("[[accounts]]\nsession_token = ' '\n", {}, "accounts[0].session_token"),
        (
            "[[accounts]]\nlabel = 'a'\nsession_token = 'x'\n"
            "[[accounts]]\nlabel = 'a'\nsession_token = 'y'\n",
            {},
            "accounts[1].label",
        ),
        ("", {"GATEWAY_PORTT": "1"}, "GATEWAY_PORTT"),
        ("", {"GATEWAY_PORT": "99999"}, "server.port"),
        ("[store]\nbackend = 'mongo'\n", {}, "store.backend"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, environ: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ=environ)
    assert names in str(info.value)


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", environ={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[server\n"), environ={})


def test_licence_hash_accepted(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, f"[[licences]]\nid = 'x'\nkey_sha256 = '{HASH}'\n"), environ={})
    assert settings.licences[0].key_sha256 == HASH


def test_settings_are_frozen() -> None:
    settings = load_settings(None, environ={})
    with pytest.raises(AttributeError):
        settings.server.port = 1  # type: ignore[misc]


def test_environment_names_cover_every_section() -> None:
    names = environment_names()
    assert names["GATEWAY_PORT"] == ("server", "port")
    assert names["GATEWAY_CAPTCHA_CLIENT_KEY"] == ("captcha", "client_key")


def test_example_config_is_valid() -> None:
    settings = load_settings(Path(__file__).parents[2] / "config" / "gateway.example.toml", environ={})
    assert settings.server.base_path == "/flow"


def test_a_variable_that_looks_like_json_must_be_json() -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_settings(None, environ={"GATEWAY_SERVER_CORS_ORIGINS": "[https://a.example"})
