"""`make nlu-report`: per-language cross-validation and held-out scores of the NLU model.

Rasa's own `rasa test nlu --cross-validation` reports one number for the whole
data set, which hides a weak language behind a strong one. Here each
language's examples are split into k folds (stratified by intent, assigned by
a hash of the text, so the split is the same on every machine and run); for
each fold one NLU-only model is trained on every other fold of *both*
languages, exactly as production trains one model for both, and it is tested
on that fold once per language. The full model (the one `make run` serves) is
then scored on the held-out files in `tests/nlu/`, written separately from the
training data.

This module runs in `.venv` and never imports Rasa: it shells out to
`.venv-rasa/bin/rasa` and reads the JSON files `rasa test nlu` writes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from bot.runner.model import ensure_model, model_path, rasa_command, rasa_env
from bot.settings import PROJECT_ROOT

LANGUAGES = ("en", "zh")
RESOURCE_KEYS = ("regex", "lookup", "synonym")
THRESHOLDS = (0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8)


class ReportError(RuntimeError):
    """A Rasa command failed or the data cannot be split; the message says which."""


@dataclass(frozen=True)
class Example:
    """One training line as written (entity annotations kept), with its labels."""

    language: str
    intent: str
    line: str


@dataclass
class NluData:
    examples: list[Example] = field(default_factory=list)
    # regex / lookup / synonym blocks: (kind, name, example lines)
    resources: list[tuple[str, str, list[str]]] = field(default_factory=list)


@dataclass(frozen=True)
class Prediction:
    text: str
    gold: str
    predicted: str
    confidence: float


@dataclass
class EntityCounts:
    """Pooled over runs: true positives, gold spans, predicted spans."""

    true_positives: float = 0.0
    support: float = 0.0
    predicted: float = 0.0

    def add(self, precision: float, recall: float, support: float) -> None:
        hits = recall * support
        self.true_positives += hits
        self.support += support
        self.predicted += hits / precision if precision > 0 else 0.0

    def scores(self) -> dict[str, float]:
        precision = self.true_positives / self.predicted if self.predicted else 0.0
        recall = self.true_positives / self.support if self.support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1, "support": self.support}


# --- reading and splitting the data -------------------------------------------------


def language_of(path: Path) -> str | None:
    """`account_en.yml` -> "en"; files without a language suffix are not examples."""
    suffix = path.stem.rsplit("_", 1)[-1]
    return suffix if suffix in LANGUAGES else None


def _lines(block: Any) -> list[str]:
    """The example lines of an `examples:` block (a "- ..." string or a list of dicts)."""
    if isinstance(block, str):
        return [
            line.strip()[2:].strip() for line in block.splitlines() if line.strip().startswith("- ")
        ]
    if isinstance(block, list):
        return [str(item["text"]) for item in block if isinstance(item, dict) and "text" in item]
    return []


def load_nlu(paths: Iterable[Path]) -> NluData:
    """Intent examples of the language files, and every regex/lookup/synonym block."""
    yaml = YAML(typ="safe")
    data = NluData()
    for path in sorted(paths):
        document = yaml.load(path.read_text(encoding="utf-8")) or {}
        language = language_of(path)
        for item in document.get("nlu") or []:
            if "intent" in item:
                if language is None:
                    raise ReportError(f"{path}: intent examples in a file without _en/_zh")
                data.examples += [
                    Example(language, str(item["intent"]), line)
                    for line in _lines(item.get("examples"))
                ]
                continue
            for kind in RESOURCE_KEYS:
                if kind in item:
                    data.resources.append((kind, str(item[kind]), _lines(item.get("examples"))))
    return data


def assign_folds(examples: Sequence[Example], k: int) -> dict[Example, int]:
    """Stratified, deterministic: within each (language, intent), order by hash, deal out."""
    groups: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for example in examples:
        groups[(example.language, example.intent)].append(example)
    folds: dict[Example, int] = {}
    for members in groups.values():
        ordered = sorted(members, key=lambda e: hashlib.sha256(e.line.encode()).hexdigest())
        for index, example in enumerate(ordered):
            folds[example] = index % k
    return folds


def _block(key: str, name: str, lines: Sequence[str]) -> str:
    body = "".join(f"      - {line}\n" for line in lines)
    return f"  - {key}: {json.dumps(name, ensure_ascii=False)}\n    examples: |\n{body}"


def write_nlu_file(
    path: Path,
    examples: Sequence[Example],
    resources: Sequence[tuple[str, str, list[str]]] = (),
) -> None:
    """Rasa's YAML training format, examples grouped by intent in a stable order."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example.line)
    parts = ['version: "3.1"\n\nnlu:\n']
    parts += [_block("intent", intent, by_intent[intent]) for intent in sorted(by_intent)]
    parts += [_block(kind, name, lines) for kind, name, lines in resources if lines]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8")


# --- running Rasa -------------------------------------------------------------------


def _run(command: list[str], root: Path) -> float:
    """Run a Rasa CLI command from the project root; seconds taken."""
    started = time.monotonic()
    result = subprocess.run(
        command, cwd=root, env=rasa_env(), check=False, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise ReportError(f"{' '.join(command[:3])} exited with {result.returncode}")
    return time.monotonic() - started


def train_nlu(root: Path, config: Path, nlu: Path, out: Path) -> tuple[Path, float]:
    """An NLU-only model (no dialogue policies): what cross-validation needs."""
    command = [
        *rasa_command(root),
        "train", "nlu",
        "--config", str(config),
        "--nlu", str(nlu),
        "--out", str(out),
        "--fixed-model-name", "nlu",
    ]  # fmt: skip
    seconds = _run(command, root)
    return out / "nlu.tar.gz", seconds


def evaluate_nlu(root: Path, model: Path, nlu: Path, out: Path) -> list[Prediction]:
    """`rasa test nlu` on one file; every intent prediction, right or wrong."""
    shutil.rmtree(out, ignore_errors=True)
    command = [
        *rasa_command(root),
        "test", "nlu",
        "--model", str(model),
        "--nlu", str(nlu),
        "--out", str(out),
        "--successes",
        "--no-plot",
    ]  # fmt: skip
    _run(command, root)
    predictions: list[Prediction] = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = out / name
        if path.exists():
            predictions += [
                Prediction(
                    text=str(item["text"]),
                    gold=str(item["intent"]),
                    predicted=str(item["intent_prediction"]["name"]),
                    confidence=float(item["intent_prediction"]["confidence"] or 0.0),
                )
                for item in json.loads(path.read_text(encoding="utf-8"))
            ]
    return predictions


def entity_report(out: Path) -> dict[str, dict[str, float]]:
    """Per-entity precision/recall/support from DIET's entity report, if any."""
    path = out / "DIETClassifier_report.json"
    if not path.exists():
        return {}
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return {
        name: {k: float(values[k]) for k in ("precision", "recall", "support")}
        for name, values in report.items()
        if isinstance(values, dict) and "support" in values and not name.endswith(" avg")
    }


# --- scoring ------------------------------------------------------------------------


def intent_scores(predictions: Sequence[Prediction]) -> dict[str, Any]:
    """Accuracy, macro-F1 over the gold intents, per-intent P/R/F1, confusions."""
    if not predictions:
        return {"examples": 0, "accuracy": 0.0, "macro_f1": 0.0, "per_intent": {}}
    gold = Counter(p.gold for p in predictions)
    predicted = Counter(p.predicted for p in predictions)
    hits = Counter(p.gold for p in predictions if p.gold == p.predicted)
    per_intent: dict[str, dict[str, float]] = {}
    for intent in sorted(gold):
        precision = hits[intent] / predicted[intent] if predicted[intent] else 0.0
        recall = hits[intent] / gold[intent]
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[intent] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": float(gold[intent]),
        }
    confusions = Counter((p.gold, p.predicted) for p in predictions if p.gold != p.predicted)
    return {
        "examples": len(predictions),
        "accuracy": sum(hits.values()) / len(predictions),
        "macro_f1": sum(v["f1"] for v in per_intent.values()) / len(per_intent),
        "per_intent": per_intent,
        "confusions": [
            {"gold": g, "predicted": p, "count": n} for (g, p), n in confusions.most_common()
        ],
    }


def threshold_table(predictions: Sequence[Prediction]) -> list[dict[str, float]]:
    """What a FallbackClassifier threshold would do: right answers lost, errors caught."""
    right = [p.confidence for p in predictions if p.gold == p.predicted]
    wrong = [p.confidence for p in predictions if p.gold != p.predicted]
    return [
        {
            "threshold": t,
            "correct_below": sum(c < t for c in right) / len(right) if right else 0.0,
            "errors_below": sum(c < t for c in wrong) / len(wrong) if wrong else 0.0,
        }
        for t in THRESHOLDS
    ]


# --- the whole report ---------------------------------------------------------------


@dataclass
class LanguageResult:
    cv_predictions: list[Prediction] = field(default_factory=list)
    cv_entities: dict[str, EntityCounts] = field(default_factory=dict)
    heldout_predictions: list[Prediction] = field(default_factory=list)
    heldout_entities: dict[str, EntityCounts] = field(default_factory=dict)


def _pool(into: dict[str, EntityCounts], report: dict[str, dict[str, float]]) -> None:
    for name, values in report.items():
        into.setdefault(name, EntityCounts()).add(
            values["precision"], values["recall"], values["support"]
        )


def _entity_summary(pooled: dict[str, EntityCounts]) -> dict[str, Any]:
    total = EntityCounts()
    for counts in pooled.values():
        total.true_positives += counts.true_positives
        total.support += counts.support
        total.predicted += counts.predicted
    return {
        "micro": total.scores(),
        "per_entity": {name: pooled[name].scores() for name in sorted(pooled)},
    }


def cross_validate(
    root: Path,
    config: Path,
    data: NluData,
    k: int,
    out: Path,
    results: dict[str, LanguageResult],
    max_folds: int | None = None,
) -> list[float]:
    """k NLU-only trainings; each fold's examples tested per language. Training times."""
    folds = assign_folds(data.examples, k)
    times: list[float] = []
    for fold in range(min(k, max_folds or k)):
        fold_dir = out / "cv" / f"fold-{fold + 1}"
        shutil.rmtree(fold_dir, ignore_errors=True)
        train = [e for e in data.examples if folds[e] != fold]
        write_nlu_file(fold_dir / "train" / "nlu.yml", train, data.resources)
        tests = {
            language: [e for e in data.examples if folds[e] == fold and e.language == language]
            for language in LANGUAGES
        }
        for language, test in tests.items():
            write_nlu_file(fold_dir / "test" / f"{language}.yml", test)
        print(f"==> fold {fold + 1}/{k}: training on {len(train)} examples", flush=True)
        model, seconds = train_nlu(root, config, fold_dir / "train", fold_dir / "model")
        times.append(seconds)
        for language, test in tests.items():
            test_file = fold_dir / "test" / f"{language}.yml"
            print(f"    testing {len(test)} {language} examples", flush=True)
            result_dir = fold_dir / f"results-{language}"
            results[language].cv_predictions += evaluate_nlu(root, model, test_file, result_dir)
            _pool(results[language].cv_entities, entity_report(result_dir))
        (fold_dir / "model" / "nlu.tar.gz").unlink(missing_ok=True)  # 20+ MB each
    return times


def score_heldout(root: Path, model: Path, out: Path, results: dict[str, LanguageResult]) -> None:
    for language in LANGUAGES:
        heldout = root / "tests" / "nlu" / f"heldout_{language}.yml"
        if not heldout.exists():
            print(f"    no {heldout.relative_to(root)}; skipped", flush=True)
            continue
        result_dir = out / f"heldout-{language}"
        results[language].heldout_predictions = evaluate_nlu(root, model, heldout, result_dir)
        _pool(results[language].heldout_entities, entity_report(result_dir))


def build_report(
    results: dict[str, LanguageResult],
    *,
    config: str,
    folds: int,
    fold_train_seconds: list[float],
    full_model: str | None,
    full_train_seconds: float | None,
) -> dict[str, Any]:
    languages: dict[str, Any] = {}
    for language, result in results.items():
        languages[language] = {
            "cross_validation": {
                **intent_scores(result.cv_predictions),
                "entities": _entity_summary(result.cv_entities),
                "fallback_thresholds": threshold_table(result.cv_predictions),
            },
            "heldout": {
                **intent_scores(result.heldout_predictions),
                "entities": _entity_summary(result.heldout_entities),
                "errors": [
                    {
                        "text": p.text,
                        "gold": p.gold,
                        "predicted": p.predicted,
                        "confidence": round(p.confidence, 3),
                    }
                    for p in result.heldout_predictions
                    if p.gold != p.predicted
                ],
            },
        }
    return {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "folds": folds,
        "fold_train_seconds": [round(s, 1) for s in fold_train_seconds],
        "full_model": full_model,
        "full_model_train_seconds": (
            round(full_train_seconds, 1) if full_train_seconds is not None else None
        ),
        "languages": languages,
    }


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def render_markdown(report: dict[str, Any]) -> str:
    langs: dict[str, Any] = report["languages"]
    out = [
        "# NLU report",
        "",
        f"Generated {report['generated']} from `{report['config']}`: "
        f"{report['folds']}-fold cross-validation per language (each fold's model trained on "
        "the other folds of both languages), then the full model on `tests/nlu/heldout_*.yml`.",
        "",
        "| language | CV examples | CV accuracy | CV macro-F1 | CV entity F1 "
        "| held-out examples | held-out accuracy | held-out macro-F1 | held-out entity F1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for language, scores in langs.items():
        cv, ho = scores["cross_validation"], scores["heldout"]
        out.append(
            f"| {language} | {cv['examples']} | {_pct(cv['accuracy'])} | {_pct(cv['macro_f1'])} "
            f"| {_pct(cv['entities']['micro']['f1'])} | {ho['examples']} "
            f"| {_pct(ho['accuracy'])} | {_pct(ho['macro_f1'])} "
            f"| {_pct(ho['entities']['micro']['f1'])} |"
        )
    times = ", ".join(f"{s:.0f} s" for s in report["fold_train_seconds"])
    out += ["", f"NLU-only training per fold: {times}."]
    if report["full_model_train_seconds"] is not None:
        out.append(
            f"Full model (NLU + dialogue) trained in {report['full_model_train_seconds']:.0f} s."
        )
    elif report["full_model"]:
        out.append("Full model taken from the cache (`models/`), not retrained.")
    for language, scores in langs.items():
        cv, ho = scores["cross_validation"], scores["heldout"]
        out += ["", f"## {language}", "", "### Per intent (cross-validation, held-out F1)", ""]
        out += [
            "| intent | support | precision | recall | F1 | held-out F1 |",
            "|---|---|---|---|---|---|",
        ]
        for intent, v in cv["per_intent"].items():
            held = ho["per_intent"].get(intent)
            held_f1 = _pct(held["f1"]) if held else "—"
            out.append(
                f"| {intent} | {v['support']:.0f} | {_pct(v['precision'])} | {_pct(v['recall'])} "
                f"| {_pct(v['f1'])} | {held_f1} |"
            )
        out += ["", "### Most confused (cross-validation)", ""]
        out += [
            f"- {c['gold']} → {c['predicted']}: {c['count']}" for c in cv.get("confusions", [])[:10]
        ] or ["- none"]
        out += ["", "### Entities (cross-validation)", ""]
        out += ["| entity | support | precision | recall | F1 |", "|---|---|---|---|---|"]
        for name, v in cv["entities"]["per_entity"].items():
            out.append(
                f"| {name} | {v['support']:.0f} | {_pct(v['precision'])} "
                f"| {_pct(v['recall'])} | {_pct(v['f1'])} |"
            )
        out += ["", "### Fallback threshold (cross-validation confidences)", ""]
        out += ["| threshold | correct answers lost | errors caught |", "|---|---|---|"]
        out += [
            f"| {t['threshold']:.2f} | {_pct(t['correct_below'])} | {_pct(t['errors_below'])} |"
            for t in cv["fallback_thresholds"]
        ]
        out += ["", "### Held-out errors", ""]
        out += [
            f"- `{e['text']}`: {e['gold']} → {e['predicted']} ({e['confidence']:.2f})"
            for e in ho["errors"]
        ] or ["- none"]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.runner.nlu_report", description=__doc__)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument(
        "--max-folds", type=int, default=None, help="run only the first N folds (quick comparisons)"
    )
    parser.add_argument("--config", default="config.yml", help="pipeline to evaluate")
    parser.add_argument("--out", default="var/nlu-report", help="report folder")
    parser.add_argument("--no-cv", action="store_true", help="held-out scores only")
    parser.add_argument("--no-heldout", action="store_true", help="cross-validation only")
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error("--folds must be at least 2")

    root = PROJECT_ROOT
    config = (root / args.config).resolve()
    out = (root / args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = load_nlu((root / "data" / "nlu").glob("*.yml"))
    results = {language: LanguageResult() for language in LANGUAGES}

    fold_times: list[float] = []
    if not args.no_cv:
        fold_times = cross_validate(
            root, config, data, args.folds, out, results, max_folds=args.max_folds
        )

    full_model: Path | None = None
    full_seconds: float | None = None
    if not args.no_heldout:
        if config == (root / "config.yml").resolve():
            # The model `make run` serves (trained only if the project changed).
            cached = model_path(root).exists()
            started = time.monotonic()
            full_model = ensure_model(root=root)
            full_seconds = None if cached else time.monotonic() - started
        else:
            print("==> training an NLU-only model on all data for the held-out test", flush=True)
            write_nlu_file(out / "full" / "train" / "nlu.yml", data.examples, data.resources)
            full_model, full_seconds = train_nlu(root, config, out / "full" / "train", out / "full")
        score_heldout(root, full_model, out, results)

    report = build_report(
        results,
        config=str(config.relative_to(root)) if config.is_relative_to(root) else str(config),
        folds=args.folds,
        fold_train_seconds=fold_times,
        full_model=str(full_model.relative_to(root)) if full_model else None,
        full_train_seconds=full_seconds,
    )
    (out / "report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    for language, scores in report["languages"].items():
        cv, ho = scores["cross_validation"], scores["heldout"]
        print(
            f"{language}: CV accuracy {_pct(cv['accuracy'])} macro-F1 {_pct(cv['macro_f1'])}; "
            f"held-out accuracy {_pct(ho['accuracy'])} macro-F1 {_pct(ho['macro_f1'])}"
        )
    print(f"==> {(out / 'report.md').relative_to(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
