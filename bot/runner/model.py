"""The trained Rasa model, cached by a fingerprint of everything training reads.

`rasa train` itself skips unchanged projects, but only after importing Rasa and
TensorFlow (tens of seconds). Hashing the inputs here costs milliseconds, so an
unchanged project never pays for a Rasa start just to learn that.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from bot.settings import PROJECT_ROOT

RASA_VENV = ".venv-rasa"
KEEP_MODELS = 3


class TrainingFailed(RuntimeError):
    """`rasa train` exited with an error; its output says why."""


def training_inputs(root: Path = PROJECT_ROOT) -> list[Path]:
    """Every file whose content changes the trained model, in a stable order."""
    files: list[Path] = [root / "config.yml", root / "requirements" / "rasa.lock"]
    domain_file = root / "domain.yml"
    files += [domain_file] if domain_file.exists() else _yaml_under(root / "domain")
    files += _yaml_under(root / "data")
    components = root / "nlu_components"
    if components.is_dir():
        files += sorted(components.rglob("*.py"))
    return files


def _yaml_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml"))


def fingerprint(files: Iterable[Path], root: Path = PROJECT_ROOT) -> str:
    """A hash of the files' paths and contents."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def model_path(root: Path = PROJECT_ROOT) -> Path:
    """Where the model for the project as it is now lives (it may not exist yet)."""
    return root / "models" / f"cardbot-{fingerprint(training_inputs(root), root)[:20]}.tar.gz"


def rasa_command(root: Path = PROJECT_ROOT) -> list[str]:
    return [str(root / RASA_VENV / "bin" / "rasa")]


def rasa_env() -> dict[str, str]:
    """Environment for any Rasa CLI process: no telemetry, quiet TensorFlow."""
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        PYTHONWARNINGS="ignore",
    )
    return env


def ensure_model(*, force: bool = False, root: Path = PROJECT_ROOT) -> Path:
    """Return the model for the current project, training it only if missing.

    Training writes into a scratch folder and moves the archive into `models/`
    only when complete, so an interrupted run never leaves a model that looks
    valid.

    Raises:
        TrainingFailed: if `rasa train` fails.
    """
    target = model_path(root)
    if target.exists() and not force:
        return target
    scratch = root / "var" / "training"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    started = time.monotonic()
    print(f"==> training the Rasa model ({target.name}); this takes a few minutes", flush=True)
    command = [
        *rasa_command(root),
        "train",
        "--config", "config.yml",
        "--domain", "domain.yml" if (root / "domain.yml").exists() else "domain",
        "--data", "data",
        "--out", str(scratch),
        "--fixed-model-name", target.name.removesuffix(".tar.gz"),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=root, env=rasa_env(), check=False)
    produced = scratch / target.name
    if result.returncode != 0 or not produced.exists():
        raise TrainingFailed(f"rasa train exited with {result.returncode}")
    target.parent.mkdir(exist_ok=True)
    produced.replace(target)
    shutil.rmtree(scratch, ignore_errors=True)
    _prune(target.parent, keep=target)
    print(f"==> model trained in {time.monotonic() - started:.0f} s: {target}", flush=True)
    return target


def _prune(models: Path, keep: Path) -> None:
    """Keep the newest few models (for quick rollback), delete the rest."""
    archives = sorted(models.glob("cardbot-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    for old in [p for p in archives if p != keep][: max(0, len(archives) - KEEP_MODELS)]:
        old.unlink()


def run_dialogue_tests(root: Path = PROJECT_ROOT) -> int:
    """Run the dialogue tests in `tests/` against the current model; exit code."""
    model = ensure_model(root=root)
    out = root / "var" / "test-results" / "dialogue"
    command = [
        *rasa_command(root),
        "test", "core",
        "--model", str(model),
        "--stories", "tests",
        "--out", str(out),
        "--fail-on-prediction-errors",
        "--no-plot",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=root, env=rasa_env(), check=False)
    failed = out / "failed_test_stories.yml"
    if failed.exists() and "none" not in failed.read_text(encoding="utf-8").lower()[:200]:
        sys.stderr.write(failed.read_text(encoding="utf-8"))
    return result.returncode
