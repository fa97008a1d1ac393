"""The measures that are not HTTP load: NLU scores, training time, planner throughput.

Rasa is never imported here (this runs in `.venv`); its CLI is run through
the helpers of `bot/runner/nlu_report.py` and `bot/runner/model.py`.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.db.engine import sync_url
from bot.runner import nlu_report
from bot.runner.model import fingerprint as files_fingerprint
from bot.runner.model import model_path, rasa_command, rasa_env, training_inputs
from bot.settings import PROJECT_ROOT, Settings

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

# Rasa 3.6's default pipeline: what `rasa init`'s config.yml gets when its
# commented-out pipeline is left as is (rasa/shared/importers/default_config.yml).
DEFAULT_NLU_CONFIG = """\
recipe: default.v1
language: en
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
  - name: EntitySynonymMapper
  - name: ResponseSelector
    epochs: 100
  - name: FallbackClassifier
    threshold: 0.3
    ambiguity_threshold: 0.1
policies: []
"""


def data_fingerprint() -> str:
    """Changes whenever anything training reads changes (the model file name's hash)."""
    return model_path().name.removeprefix("cardbot-").removesuffix(".tar.gz")


def nlu_data_fingerprint() -> str:
    """What Rasa's stock pipeline trains on: `data/nlu` and the Rasa install, nothing of ours.

    Our config, components and speed-ups do not change its scores, so they must
    not throw away its cached training (about 15 minutes here).
    """
    files = [PROJECT_ROOT / "requirements" / "rasa.lock"]
    files += sorted(p for p in (PROJECT_ROOT / "data" / "nlu").rglob("*") if p.is_file())
    return files_fingerprint(files, PROJECT_ROOT)[:20]


# --- NLU ------------------------------------------------------------------------------


def heldout_scores(model: Path, out: Path) -> dict[str, Any]:
    """Intent accuracy and macro-F1 per language on tests/nlu/heldout_*.yml.

    Both files are tested in one `rasa test nlu` run (one TensorFlow start),
    predictions then split by language by their text.
    """
    files = {
        language: PROJECT_ROOT / "tests" / "nlu" / f"heldout_{language}.yml"
        for language in nlu_report.LANGUAGES
    }
    data = nlu_report.load_nlu(p for p in files.values() if p.exists())
    combined = out / "heldout.yml"
    nlu_report.write_nlu_file(combined, data.examples)
    predictions = nlu_report.evaluate_nlu(PROJECT_ROOT, model, combined, out / "results")
    texts: dict[str, set[str]] = {language: set() for language in nlu_report.LANGUAGES}
    for language in nlu_report.LANGUAGES:
        heldout = out / "by-language" / f"{language}.yml"
        nlu_report.write_nlu_file(heldout, [e for e in data.examples if e.language == language])
        # The text Rasa reports is the example with entity annotations removed.
        reread = nlu_report.load_nlu([heldout])
        texts[language] = {_plain(e.line) for e in reread.examples}
    scores: dict[str, Any] = {}
    for language in nlu_report.LANGUAGES:
        mine = [p for p in predictions if p.text in texts[language]]
        result = nlu_report.intent_scores(mine)
        scores[language] = {k: result[k] for k in ("examples", "accuracy", "macro_f1")}
    return scores


def _plain(line: str) -> str:
    """`[Friday](date)` -> `Friday`, `[x]{"entity": ...}` -> `x`: the text Rasa tests."""
    import re

    line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)
    line = re.sub(r"\[([^\]]*)\]\{[^}]*\}", r"\1", line)
    return line.strip().strip('"')


def default_pipeline_scores(out: Path, *, train: bool) -> dict[str, Any] | None:
    """The stock pipeline trained NLU-only on data/nlu, scored on the held-out files.

    Cached in `<out>/default-nlu/scores.json` by the data fingerprint; without
    `train` only a cached result is returned (None if there is none).
    """
    folder = out / "default-nlu"
    cache = folder / "scores.json"
    fingerprint = nlu_data_fingerprint()
    if cache.exists():
        cached: dict[str, Any] = json.loads(cache.read_text(encoding="utf-8"))
        if cached.get("fingerprint") == fingerprint or not train:
            return cached
    if not train:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yml"
    config.write_text(DEFAULT_NLU_CONFIG, encoding="utf-8")
    print("==> training the stock NLU pipeline on data/nlu (about 10 minutes)", flush=True)
    model, seconds = nlu_report.train_nlu(
        PROJECT_ROOT, config, PROJECT_ROOT / "data" / "nlu", folder / "model"
    )
    result = {
        "fingerprint": fingerprint,
        "measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "train_seconds": round(seconds, 1),
        "languages": heldout_scores(model, folder / "heldout"),
    }
    model.unlink(missing_ok=True)
    cache.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


# --- training time ------------------------------------------------------------------


def timed_training(scratch: Path) -> float:
    """A full `rasa train` (NLU + dialogue) of the project into a scratch folder; seconds.

    The project's own `models/` is not touched.
    """
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    domain = "domain.yml" if (PROJECT_ROOT / "domain.yml").exists() else "domain"
    command = [
        *rasa_command(),
        "train",
        "--config",
        "config.yml",
        "--domain",
        domain,
        "--data",
        "data",
        "--out",
        str(scratch),
        "--fixed-model-name",
        "bench",
        "--force",
    ]
    started = time.monotonic()
    with open(scratch.parent / "train.log", "wb") as log:
        result = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env=rasa_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    seconds = time.monotonic() - started
    shutil.rmtree(scratch, ignore_errors=True)
    if result.returncode != 0:
        raise RuntimeError(f"rasa train exited with {result.returncode}; see train.log")
    return seconds


def training_time(out: Path, *, measure: bool) -> dict[str, Any]:
    """Measured now (`measure`), else the last measurement for the same inputs, else none."""
    cache = out / "training.json"
    fingerprint = data_fingerprint()
    if not measure and cache.exists():
        cached: dict[str, Any] = json.loads(cache.read_text(encoding="utf-8"))
        cached["source"] = "cached from an earlier bench run" + (
            "" if cached.get("fingerprint") == fingerprint else " (older training data)"
        )
        return cached
    if not measure:
        return {"seconds": None, "source": "not measured (--quick)"}
    print("==> timing a full rasa train into a scratch folder (a few minutes)", flush=True)
    seconds = timed_training(out / "train-scratch" / "out")
    result = {
        "seconds": round(seconds, 1),
        "fingerprint": fingerprint,
        "files": len(training_inputs()),
        "measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": "timed `rasa train` in this run",
    }
    cache.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


# --- databases and the planner --------------------------------------------------------


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A fresh database `name` on the local PostgreSQL server, dropped afterwards."""
    admin = create_engine(sync_url(POSTGRES_SERVER), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def postgres_available() -> bool:
    try:
        engine = create_engine(sync_url(POSTGRES_SERVER))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False
    return True


def seed(url: str, accounts: int) -> float:
    """Personas plus `accounts` synthetic accounts; seconds taken."""
    from bot.demo.seed import seed_demo

    return seed_demo(url, accounts=accounts).elapsed_seconds


def planner_throughput(url: str, accounts: int, backend: str) -> dict[str, Any]:
    """Seed `accounts`, then one dry-run planning pass (rolled back); accounts screened/s."""
    from bot.reminders.service import plan_report

    seed_seconds = seed(url, accounts)
    report = asyncio.run(plan_report(Settings(database_url=url), dry_run=True))
    return {
        "backend": backend,
        "accounts": accounts,
        "accounts_screened": report.accounts_screened,
        "plan_seconds": round(report.elapsed_seconds, 3),
        "accounts_per_s": report.accounts_per_second,
        "planned": sum(report.planned.values()),
        "seed_seconds": round(seed_seconds, 1),
    }
