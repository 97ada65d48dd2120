from __future__ import annotations

from pathlib import Path

import pytest

from broadsheet.config import SETTINGS, Settings, markdown_table
from broadsheet.errors import ConfigError

README = Path(__file__).parents[2] / "README.md"


def test_defaults_need_no_configuration(tmp_path: Path) -> None:
    s = Settings.load(env={"BROADSHEET_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'broadsheet.db'}"
    assert s.allow_hosts == ()


def test_environment_and_overrides() -> None:
    env = {
        "BROADSHEET_PORT": "9000",
        "BROADSHEET_ALLOW_HOSTS": "127.0.0.1, 10.0.0.0/8",
        "BROADSHEET_TIMEZONE": "Asia/Kolkata",
    }
    s = Settings.load(env=env, port=9001)
    assert (s.port, s.allow_hosts, s.timezone) == (
        9001,
        ("127.0.0.1", "10.0.0.0/8"),
        "Asia/Kolkata",
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BROADSHEET_PORT": "eighty"}, "BROADSHEET_PORT"),
        ({"BROADSHEET_TIMEZONE": "Mars/Olympus"}, "time zone"),
        ({"BROADSHEET_MAX_BODY_BYTES": "0"}, "positive"),
    ],
)
def test_bad_values_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load(env=env)


def test_every_setting_has_help_and_the_readme_table_is_current() -> None:
    for setting in SETTINGS:
        assert setting.help.endswith("."), setting.name
    readme = README.read_text(encoding="utf-8")
    block = readme.split("config show --markdown` -->\n", 1)[1].split("<!-- end", 1)[0]
    assert block == markdown_table(), "run `broadsheet config show --markdown` into README.md"
