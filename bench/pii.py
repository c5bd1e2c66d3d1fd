"""Personal-data redaction figures: per-kind recall and false-positive rates over generated Japanese sentences,
false positives on real resident questions (LocalgovFAQ, when ../shared is present) and throughput.

    .venv/bin/python bench/pii.py [--n 10000] [--seed 7]

recall (exact)  the redacted text is exactly the expected one (nothing missed, nothing extra)
leak-free       none of the raw personal data survives (the figure that matters for logs)
false positives ordinary text (dates, yen, years, times, numbers …) that was changed at all
throughput      characters per CPU-second of one process (one core)
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from governance.pii import find_pii, redact  # noqa: E402
from tests.governance.pii_corpus import (  # noqa: E402
    KNOWN_MISSES,
    NEGATIVE_GENERATORS,
    POSITIVE_GENERATORS,
    TRICKY_CASES,
    run_together_text,
)

SHARED = Path(os.environ.get("MADOGUCHI_SHARED_DIR", ROOT.parent / "shared"))


def recall_table(n: int, rnd: random.Random) -> list[str]:
    texts: list[str] = []
    lines = [f"{'kind':<14}{'n':>7}{'exact':>9}{'leak-free':>11}"]
    for kind, generate in POSITIVE_GENERATORS.items():
        samples = [generate(rnd) for _ in range(n)]
        outputs = [redact(s.text) for s in samples]
        exact = sum(out == s.expected for s, out in zip(samples, outputs)) / n
        leak_free = sum(not any(x in out for x in s.secrets) for s, out in zip(samples, outputs)) / n
        lines.append(f"{kind:<14}{n:>7}{exact:>9.2%}{leak_free:>11.2%}")
        texts += [s.text for s in samples]
    return lines, texts


def false_positive_table(n: int, rnd: random.Random) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    lines = [f"{'ordinary text':<22}{'n':>7}{'false positives':>17}"]
    for kind, generate in NEGATIVE_GENERATORS.items():
        samples = [generate(rnd) for _ in range(n)]
        changed = sum(redact(t) != t for t in samples) / n
        lines.append(f"{kind:<22}{n:>7}{changed:>17.2%}")
        texts += samples
    return lines, texts


def run_together_line(n: int, rnd: random.Random) -> str:
    """2–4 items (personal or ordinary) joined by a space, 、 or 。: numbers of different items side by side."""
    leaked = 0
    for _ in range(n):
        text, must_cover = run_together_text(rnd, joiners=(" ", "　", "、", "。", "\n"))
        covered = {i for m in find_pii(text) for i in range(m.start, m.end)}
        leaked += any(i not in covered for i in must_cover)
    return f"run-together sentences: {leaked}/{n} texts with any character of personal data left ({leaked / n:.2%})"


def hand_written_lines() -> list[str]:
    """The generators share their grammar with the detector's author; hand-written cases are a check from outside."""
    positives = [(t, e) for t, e in TRICKY_CASES if t != e]
    negatives = [t for t, e in TRICKY_CASES if t == e and t]
    caught = sum(redact(t) == e for t, e in positives)
    kept = sum(redact(t) == t for t in negatives)
    missed = sum(not find_pii(t) for t in KNOWN_MISSES)
    return [f"hand-written cases: {caught}/{len(positives)} redacted exactly, {kept}/{len(negatives)} ordinary "
            f"texts unchanged; {missed}/{len(KNOWN_MISSES)} documented misses still missed"]


def throughput(texts: list[str], label: str) -> str:
    chars = sum(map(len, texts))
    started = time.process_time()  # CPU time of this process: the figure does not move with the machine's load
    for text in texts:
        redact(text)
    elapsed = time.process_time() - started
    return (f"{label:<40}{len(texts):>7} texts {chars:>10,} chars  {chars / elapsed:>12,.0f} chars/s  "
            f"{elapsed / len(texts) * 1e6:>7.1f} µs/text")


def tokyo_texts() -> list[str]:
    """Ordinary text residents write about: garbage items and notices, templated Tokyo questions."""
    texts = []
    for target in sorted((SHARED / "data" / "tokyo").glob("*5374*/target.csv")):
        texts += [" ".join(row) for row in csv.reader(target.open(encoding="utf-8"))]
    evaluation = SHARED / "data" / "tokyo-eval" / "dev-templated.jsonl"
    if evaluation.exists():
        texts += [json.loads(line)["question"] for line in evaluation.open(encoding="utf-8")]
    return texts


def localgovfaq() -> tuple[list[str], list[str]] | None:
    folder = SHARED / "data" / "localgovfaq"
    if not (folder / "corpus.jsonl").exists():
        return None
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open(encoding="utf-8")]
    queries = [json.loads(line)["query"] for name in ("queries-dev.jsonl", "queries-test.jsonl")
               for line in (folder / name).open(encoding="utf-8")]
    return queries + [entry["question"] for entry in corpus], [entry["answer"] for entry in corpus]


def real_text_lines(questions: list[str], answers: list[str]) -> list[str]:
    flagged = [q for q in questions if find_pii(q)]
    kinds = Counter(m.kind for answer in answers for m in find_pii(answer))
    lines = [f"LocalgovFAQ resident questions with anything flagged: {len(flagged)}/{len(questions)} "
             f"({len(flagged) / len(questions):.2%})"]
    lines += [f"  flagged: {q[:80]}" for q in flagged[:5]]
    lines.append("LocalgovFAQ official answers, items found (public numbers/addresses; answers are never redacted "
                 "for the resident): " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="generated examples per kind")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rnd = random.Random(args.seed)

    recall_lines, positive_texts = recall_table(args.n, rnd)
    fp_lines, negative_texts = false_positive_table(args.n, rnd)
    print("\n".join(recall_lines), "\n")
    print("\n".join(fp_lines), "\n")
    print("\n".join(hand_written_lines()))
    print(run_together_line(args.n, rnd), "\n")

    print(throughput(positive_texts, "generated sentences with personal data"))
    print(throughput(negative_texts, "generated ordinary sentences"))
    real = localgovfaq()
    if real is None:
        print(f"(LocalgovFAQ not found under {SHARED}: real-text figures skipped)")
        return
    questions, answers = real
    print(throughput(questions, "LocalgovFAQ questions (real)"))
    print(throughput(answers, "LocalgovFAQ answers (real, full-width)"))
    long_text = "".join(answers)
    print(throughput([long_text], "LocalgovFAQ answers as one text"))
    print()
    print("\n".join(real_text_lines(questions, answers)))
    tokyo = tokyo_texts()
    flagged = [t for t in tokyo if find_pii(t)]
    print(f"Tokyo garbage dictionaries + templated questions flagged: {len(flagged)}/{len(tokyo)}")
    print("\n".join(f"  flagged: {t[:80]}" for t in flagged[:5]))


if __name__ == "__main__":
    main()
