from pathlib import Path

import pytest

from bot.runner.model import ensure_model, model_path, training_inputs


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config.yml").write_text("recipe: default.v1\n")
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "rasa.lock").write_text("rasa==3.6.21\n")
    (tmp_path / "domain").mkdir()
    (tmp_path / "domain" / "a.yml").write_text("version: '3.1'\n")
    (tmp_path / "data" / "nlu").mkdir(parents=True)
    (tmp_path / "data" / "nlu" / "en.yml").write_text("nlu: []\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_stories.yml").write_text("stories: []\n")
    return tmp_path


def test_fingerprint_covers_training_inputs_only(project: Path) -> None:
    before = model_path(project)
    assert model_path(project) == before  # stable
    (project / "tests" / "test_stories.yml").write_text("stories: [changed]\n")
    assert model_path(project) == before  # test stories do not change the model
    (project / "data" / "nlu" / "en.yml").write_text("nlu: [changed]\n")
    assert model_path(project) != before


@pytest.mark.parametrize(
    "path", ["config.yml", "domain/a.yml", "requirements/rasa.lock", "data/nlu/en.yml"]
)
def test_each_input_changes_the_fingerprint(project: Path, path: str) -> None:
    before = model_path(project)
    (project / path).write_text((project / path).read_text() + "# edit\n")
    assert model_path(project) != before


def test_new_data_file_changes_the_fingerprint(project: Path) -> None:
    before = model_path(project)
    (project / "data" / "rules.yml").write_text("rules: []\n")
    assert project / "data" / "rules.yml" in training_inputs(project)
    assert model_path(project) != before


def test_cached_model_is_reused_without_training(project: Path) -> None:
    target = model_path(project)
    target.parent.mkdir()
    target.write_bytes(b"model")
    # No .venv-rasa exists here: any attempt to train would fail loudly.
    assert ensure_model(root=project) == target
