"""The 'attrnn-synth' stand-in on real speech: top-1 and top-5 keyword accuracy.

'attrnn-synth' is the paper's AttRNN trained on keywords synthesised by
espeak-ng (a stand-in for the Speech Commands model). This scores the shipped
checkpoint on 30 real Speech Commands v0.02 clips (validation part; CC BY 4.0)
kept outside the repository in ../shared/reference/speech_commands_30/clips.npz.

A clip counts as recognised at top-k when its word is among the k highest of
all the source's outputs (35 keywords, _silence_, _unknown_); the numbers
restricted to the 35 keyword outputs are reported too. Chance is 1/35 (top-1)
and 5/35 (top-5); the p-value is the one-sided binomial probability of at least
the observed number of top-5 hits by chance.

Usage: python benchmarks/attrnn_synth_real_speech.py [--reference DIR] [--checkpoint FILE]
Writes benchmarks/results/attrnn_synth_real_speech.json and prints a summary.
"""

import argparse
import hashlib
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

import voice2series
from voice2series.sources import AttRNNSource, get_source
from voice2series.sources.synthetic_speech import WORDS

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference" / "speech_commands_30"
RESULTS = ROOT / "benchmarks" / "results"


def top_k_hits(scores, targets, k):
    """Whether each row's target index is among its ``k`` highest scores."""
    top = torch.topk(torch.as_tensor(scores), k, dim=1).indices
    return (top == torch.as_tensor(targets)[:, None]).any(dim=1).numpy()


def score_real_speech(source, audio, words):
    """Scores, predictions and top-1/top-5 hits of ``source`` on labelled clips."""
    labels = list(source.labels)
    targets = np.array([labels.index(word) for word in words])
    keyword_outputs = [labels.index(word) for word in WORDS]
    with torch.no_grad():
        scores = source(torch.as_tensor(audio, dtype=torch.float32))
    keyword_scores = scores[:, keyword_outputs]
    keyword_targets = np.array([WORDS.index(word) for word in words])
    return {
        "predicted": [labels[i] for i in scores.argmax(1).tolist()],
        "top1": top_k_hits(scores, targets, 1),
        "top5": top_k_hits(scores, targets, 5),
        "keywords_top1": top_k_hits(keyword_scores, keyword_targets, 1),
        "keywords_top5": top_k_hits(keyword_scores, keyword_targets, 5),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default=str(REFERENCE), help="folder holding clips.npz")
    parser.add_argument("--checkpoint", default=None, help="an AttRNN checkpoint (default: the shipped one)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    data = np.load(Path(args.reference) / "clips.npz")
    audio, words = data["audio"], [str(w) for w in data["word"]]
    source = get_source("attrnn-synth") if args.checkpoint is None else AttRNNSource(checkpoint=args.checkpoint)
    path = Path(args.checkpoint) if args.checkpoint else Path(voice2series.sources.locate_attrnn_synth_checkpoint())
    saved = torch.load(path, map_location="cpu", weights_only=True)
    result = score_real_speech(source, audio, words)

    from scipy.stats import binomtest

    n = len(words)
    hits5 = int(result["top5"].sum())
    summary = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {platform.system()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "version": voice2series.__version__,
        "checkpoint": {
            "file": path.name,
            "bytes": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "epoch": saved.get("epoch"),
            "settings": saved.get("settings"),
            "training_wall_seconds": sum(h["seconds"] for h in saved.get("history", [])),
            "best_synthetic_val_accuracy": max((h["val_accuracy"] for h in saved.get("history", [])), default=None),
            "espeak_ng": saved.get("corpus", {}).get("espeak_ng"),
        },
        "seed": (saved.get("settings") or {}).get("random_state"),
        "n_clips": n,
        "n_outputs": len(source.labels),
        "chance_top1": 1 / 35,
        "chance_top5": 5 / 35,
        "top1": float(result["top1"].mean()),
        "top5": float(result["top5"].mean()),
        "keywords_only_top1": float(result["keywords_top1"].mean()),
        "keywords_only_top5": float(result["keywords_top5"].mean()),
        "top5_binomial_p_value": float(binomtest(hits5, n, 5 / 35, alternative="greater").pvalue),
        "clips": [
            {"word": w, "predicted": p, "top5": bool(t)} for w, p, t in zip(words, result["predicted"], result["top5"])
        ],
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "attrnn_synth_real_speech.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"| clips | top-1 | top-5 | top-1 (35 keyword outputs) | top-5 (35 keyword outputs) | chance top-1 / top-5 |\n"
        f"|---|---|---|---|---|---|\n"
        f"| {n} | {summary['top1']:.3f} | {summary['top5']:.3f} | {summary['keywords_only_top1']:.3f} | "
        f"{summary['keywords_only_top5']:.3f} | {1 / 35:.3f} / {5 / 35:.3f} |\n\n"
        f"top-5 vs chance: one-sided binomial p = {summary['top5_binomial_p_value']:.2g}; written to {out}"
    )


if __name__ == "__main__":
    main()
