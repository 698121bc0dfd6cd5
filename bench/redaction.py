"""Redaction: Consentry's redactor against Microsoft Presidio and scrubadub on the same posts.

The posts and their PII labels come from ``consentry.demo.pii.labelled_corpus``. Presidio and
scrubadub work one text at a time and are slow, so they run on the first ``--sample`` posts;
Consentry's redactor runs on all ``--posts`` in the export's 65,536-post batches, on one thread
and on two (the export parallelises over batches the same way). The machine is shared, so the
timing goes in ``--rounds`` rounds: each times Presidio on half of the next slice of the sample,
Consentry, then Presidio on the other half, and gives a ratio of runs under the same load; the
table has the median posts/s, the median ratio and the lowest and highest round. Recall and
precision are per PII type on the sample (and on all posts for Consentry): a found span
counts when it overlaps a labelled span of the same type; a labelled value is recalled when
found spans of its type cover all of it (a partly redacted value leaks). The same is reported on
the independent set in tests/data/pii_eval (all of it, for every tool). Types a tool has no
detector for get recall 0; a tool's findings of types we do not label (scrubadub's @handles,
say) are left out rather than counted as errors.

    .venv/bin/python -m bench.redaction [--posts 200000] [--sample 2000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa

from consentry.demo.pii import Span, labelled_corpus, score_spans
from consentry.pipeline.redact import PII_TYPES, redact, redact_with_spans

BATCH = 65_536
RESULTS = Path(__file__).parent / "results" / "redaction.json"
EVAL = Path(__file__).parents[1] / "tests" / "data" / "pii_eval" / "posts.jsonl"
PRESIDIO_TYPES = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "IP_ADDRESS": "IP",
    "CREDIT_CARD": "CARD",
    "URL": "URL",
}
SCRUBADUB_TYPES = {"email": "EMAIL", "phone": "PHONE", "credit_card": "CARD", "url": "URL"}
PRESIDIO_SETUP = (
    "presidio-analyzer AnalyzerEngine with its predefined (pattern) recognizers, analyze(entities="
    f"{list(PRESIDIO_TYPES)}, language='en'), then presidio-anonymizer AnonymizerEngine "
    "(default replace). NLP engine: spacy.blank('en') saved with nlp.to_disk(DIR) and loaded "
    "through the supported NlpEngineProvider configuration {'nlp_engine_name': 'spacy', "
    "'models': [{'lang_code': 'en', 'model_name': DIR}]}: tokens, no NER, no lemmas."
)
WARM_UP = "mail a@example.org, call +1 (415) 555-0132, see https://x.com/a or 4111 1111 1111 1111"
SCRUBADUB_SETUP = "scrubadub.Scrubber() with its default detectors; clean(text) is timed"


def score(gold: list[list[Span]], found: list[list[Span]]) -> dict[str, dict[str, Any]]:
    """Per type: labelled, found, recall (labelled values fully covered), precision."""
    scores = score_spans(gold, found)
    return {
        kind: {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for kind, row in scores.items()
    }


def independent_set() -> tuple[list[str], list[list[Span]]]:
    """The labelled posts of tests/data/pii_eval (not written from the rules)."""
    posts = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines()]
    return [p["text"] for p in posts], [[tuple(s) for s in p["spans"]] for p in posts]


def _rate(posts: int, run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return posts / (time.perf_counter() - start)


def interleaved_speeds(
    texts: list[str], sample: list[str], analyze: Callable[[str], list[Span]], rounds: int
) -> tuple[dict[str, list[float]], list[list[Span]]]:
    """Posts/s per round of Consentry's redactor (all ``texts``, three ways) and of Presidio
    (the round's slice of ``sample``, half before Consentry's runs and half after), so that each
    round's ratio compares runs under the same load; and what Presidio found on the sample."""
    batches = [pa.array(texts[i : i + BATCH], pa.string()) for i in range(0, len(texts), BATCH)]
    redact(batches[0])  # warm-up

    def all_of(function: Callable[[pa.Array], object], threads: int) -> Callable[[], object]:
        def run() -> object:
            with ThreadPoolExecutor(threads) as pool:
                return list(pool.map(function, batches))

        return run

    ours = {
        "redact_1_thread": all_of(redact, 1),
        "redact_2_threads": all_of(redact, 2),
        "redact_with_spans_1_thread": all_of(redact_with_spans, 1),
    }
    speeds: dict[str, list[float]] = {name: [] for name in [*ours, "presidio"]}
    found: list[list[Span]] = []
    step = math.ceil(len(sample) / rounds)
    for start in range(0, len(sample), step):
        middle = start + step // 2
        before = time.perf_counter()
        found += [analyze(text) for text in sample[start:middle]]
        presidio_time = time.perf_counter() - before
        for name, run in ours.items():
            speeds[name].append(_rate(len(texts), run))
        after = time.perf_counter()
        found += [analyze(text) for text in sample[middle : start + step]]
        presidio_time += time.perf_counter() - after
        speeds["presidio"].append(len(sample[start : start + step]) / presidio_time)
    return speeds, found


def consentry_found(texts: list[str]) -> list[list[Span]]:
    found: list[list[Span]] = []
    for i in range(0, len(texts), BATCH):
        _, spans = redact_with_spans(pa.array(texts[i : i + BATCH], pa.string()))
        found += [[(s["start"], s["end"], s["type"]) for s in row] for row in spans.to_pylist()]
    return found


def presidio() -> Callable[[str], list[Span]]:
    """Analyze and anonymize one text with Presidio; returns what the analyzer found."""
    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    model = Path(tempfile.mkdtemp(prefix="blank-en-")) / "blank_en"
    spacy.blank("en").to_disk(model)
    configuration = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": str(model)}],
    }
    engine = NlpEngineProvider(nlp_configuration=configuration).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    anonymizer = AnonymizerEngine()
    entities = list(PRESIDIO_TYPES)

    def run(text: str) -> list[Span]:
        results = analyzer.analyze(text=text, language="en", entities=entities)
        anonymizer.anonymize(text=text, analyzer_results=results)
        return [(r.start, r.end, PRESIDIO_TYPES[r.entity_type]) for r in results]

    return run


def scrubadub_tool() -> tuple[Callable[[str], object], Callable[[str], list[Span]]]:
    """scrubadub's ``clean`` (timed) and its findings (``iter_filth``, scored)."""
    import scrubadub

    scrubber = scrubadub.Scrubber()

    def found(text: str) -> list[Span]:
        return [
            (f.beg, f.end, SCRUBADUB_TYPES[f.type])
            for f in scrubber.iter_filth(text)
            if f.type in SCRUBADUB_TYPES
        ]

    return scrubber.clean, found


def per_text(function: Callable[[str], Any], texts: Iterable[str]) -> tuple[float, list[Any]]:
    texts = list(texts)
    start = time.perf_counter()
    out = [function(text) for text in texts]
    return len(texts) / (time.perf_counter() - start), out


def _cell(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def _times(low: float, high: float) -> str:
    return f"{low:.0f}-{high:.0f}x"


def table(tools: dict[str, dict[str, Any]]) -> str:
    head = f"{'tool':<34}{'posts':>8}{'posts/s':>11}{'x Presidio':>11}{'range':>12}  " + "  ".join(
        f"{kind:>11}" for kind in PII_TYPES
    )
    lines = [head, f"{'':<78}" + "  ".join(f"{'R / P':>11}" for _ in PII_TYPES)]
    for name, tool in tools.items():
        cells = "  ".join(
            f"{_cell(tool['accuracy'][k]['recall'])}/{_cell(tool['accuracy'][k]['precision'])}"
            for k in PII_TYPES
        )
        spread = _times(*tool["x_presidio_range"]) if "x_presidio_range" in tool else "-"
        lines.append(
            f"{name:<34}{tool['posts']:>8}{tool['posts_per_s']:>11,.0f}"
            f"{tool['x_presidio']:>10.0f}x{spread:>12}  {cells}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--rounds", type=int, default=10, help="timing rounds, taken in turn")
    args = parser.parse_args()

    corpus = labelled_corpus(args.posts, args.seed)
    texts, gold = [t for t, _ in corpus], [spans for _, spans in corpus]
    sample, sample_gold = texts[: args.sample], gold[: args.sample]
    load = os.getloadavg()

    analyze = presidio()
    analyze(WARM_UP)  # the email check's first call loads the public-suffix list
    speeds, presidio_found = interleaved_speeds(texts, sample, analyze, args.rounds)
    ratios = {
        name: [ours / theirs for ours, theirs in zip(rates, speeds["presidio"], strict=True)]
        for name, rates in speeds.items()
        if name != "presidio"
    }
    speed = {name: statistics.median(rates) for name, rates in speeds.items()}
    presidio_rate = speed["presidio"]
    clean, filth = scrubadub_tool()
    clean(WARM_UP)
    scrubadub_rate, _ = per_text(clean, sample)
    ours_sample = consentry_found(sample)

    ours_accuracy = score(sample_gold, ours_sample)
    names = {
        "Consentry, 1 thread": "redact_1_thread",
        "Consentry, 2 threads": "redact_2_threads",
        "Consentry with spans, 1 thread": "redact_with_spans_1_thread",
    }
    tools: dict[str, dict[str, Any]] = {
        name: {
            "posts": args.posts,
            "posts_per_s": speed[key],
            "x_presidio": statistics.median(ratios[key]),
            "x_presidio_range": [min(ratios[key]), max(ratios[key])],
            "x_presidio_per_round": ratios[key],
            "posts_per_s_per_round": speeds[key],
            "accuracy": ours_accuracy,
        }
        for name, key in names.items()
    }
    tools["Presidio (patterns, blank spaCy)"] = {
        "posts": args.sample,
        "posts_per_s": presidio_rate,
        "x_presidio": 1.0,
        "posts_per_s_per_round": speeds["presidio"],
        "accuracy": score(sample_gold, presidio_found),
    }
    tools["scrubadub (default detectors)"] = {
        "posts": args.sample,
        "posts_per_s": scrubadub_rate,
        "x_presidio": scrubadub_rate / presidio_rate,
        "accuracy": score(sample_gold, [filth(text) for text in sample]),
    }
    eval_texts, eval_gold = independent_set()
    independent = {
        "Consentry": score(eval_gold, consentry_found(eval_texts)),
        "Presidio (patterns, blank spaCy)": score(eval_gold, [analyze(t) for t in eval_texts]),
        "scrubadub (default detectors)": score(eval_gold, [filth(t) for t in eval_texts]),
    }
    print(table(tools))
    print(
        f"\nx Presidio: the median of {len(speeds['presidio'])} rounds, each timing Consentry on "
        f"all {args.posts} posts between Presidio on two halves of its slice of the sample, so "
        "that both see the same load; range: the lowest and highest round. Per round, 1 thread: "
        + ", ".join(f"{r:.0f}x" for r in ratios["redact_1_thread"])
        + ". scrubadub is timed once, after."
    )
    print(f"\nOn the independent set ({len(eval_texts)} posts, tests/data/pii_eval), R / P:")
    for name, accuracy in independent.items():
        cells = "  ".join(
            f"{k} {_cell(v['recall'])}/{_cell(v['precision'])}" for k, v in accuracy.items()
        )
        print(f"  {name:<34}{cells}")
    print(f"\nRecall / precision on the first {args.sample} posts (the same for every tool).")
    print(
        "No detector: Presidio for ADDRESS (no street-address recognizer); scrubadub for IP "
        "and ADDRESS."
    )
    print(f"Presidio: {PRESIDIO_SETUP}")
    print(f"scrubadub: {SCRUBADUB_SETUP}")
    all_posts = score(gold, consentry_found(texts))
    print(
        f"Consentry on all {args.posts} posts: "
        + ", ".join(
            f"{k} {_cell(v['recall'])}/{_cell(v['precision'])}" for k, v in all_posts.items()
        )
    )
    print(f"load average at start: {load[0]:.1f} on {os.cpu_count()} CPUs")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    partial = RESULTS.with_suffix(".json.partial")
    report = {
        "posts": args.posts,
        "sample": args.sample,
        "seed": args.seed,
        "batch_posts": BATCH,
        "load_average_at_start": load[0],
        "cpus": os.cpu_count(),
        "tools": tools,
        "consentry_all_posts_accuracy": all_posts,
        "independent_set_accuracy": independent,
        "rounds": len(speeds["presidio"]),
        "presidio_setup": PRESIDIO_SETUP,
        "scrubadub_setup": SCRUBADUB_SETUP,
        "no_detector": {"Presidio": ["ADDRESS"], "scrubadub": ["IP", "ADDRESS"]},
    }
    partial.write_text(json.dumps(report, indent=2) + "\n")
    partial.replace(RESULTS)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
