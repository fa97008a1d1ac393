from pathlib import Path

from bot.runner.envfile import PLACEHOLDER, ensure_env_file, render_env


def test_each_placeholder_gets_its_own_fresh_secret() -> None:
    template = f"A={PLACEHOLDER}\nB={PLACEHOLDER}\nC=kept\n# D={PLACEHOLDER}\n"
    first = dict(line.split("=", 1) for line in render_env(template).splitlines() if "=" in line)
    second = dict(line.split("=", 1) for line in render_env(template).splitlines() if "=" in line)
    assert first["A"] != PLACEHOLDER and len(first["A"]) >= 40
    assert first["A"] != first["B"]
    assert first["A"] != second["A"]
    assert first["C"] == "kept"
    assert first["# D"] == PLACEHOLDER  # comments are left alone


def test_env_file_is_created_once_and_private(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text(f"RASA_TOKEN={PLACEHOLDER}\n", encoding="utf-8")
    assert ensure_env_file(tmp_path) is True
    written = (tmp_path / ".env").read_text(encoding="utf-8")
    assert PLACEHOLDER not in written
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0
    assert ensure_env_file(tmp_path) is False
    assert (tmp_path / ".env").read_text(encoding="utf-8") == written


def test_committed_example_generates_every_secret(tmp_path: Path) -> None:
    from bot.settings import PROJECT_ROOT

    rendered = render_env((PROJECT_ROOT / ".env.example").read_text(encoding="utf-8"))
    values = dict(line.split("=", 1) for line in rendered.splitlines() if "=" in line)
    assert values["RASA_TOKEN"] and values["RASA_TOKEN"] != PLACEHOLDER
    assert values["SESSION_SECRET"] and values["SESSION_SECRET"] != values["RASA_TOKEN"]
