"""Synthetic and bundled data, generated from a numpy Generator (no downloads).

Every generator takes the run's rng, so a run's data is fixed by its seed, and returns
float32/int64 numpy arrays; the kinds turn them into tensors.  Text comes from the Zen of
Python (the `this` module, unchanged since 2004) and a seeded toy grammar, so it does not
depend on the Python version's standard library sources.
"""

from __future__ import annotations

import codecs
import contextlib
import io

import numpy as np


def mixture(rng: np.random.Generator, n: int, dim: int, n_classes: int, sep: float,
            clusters: int = 1, centers: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian-mixture classification: `clusters` blobs per class, so an MLP needs hidden
    units; returns (x, y, centers) so a related task or a shifted split can reuse the centers."""
    if centers is None:
        centers = rng.normal(0.0, sep / np.sqrt(dim), size=(n_classes * clusters, dim)) * np.sqrt(dim) / 2.0
    k = rng.integers(0, n_classes * clusters, size=n)
    x = centers[k] + rng.normal(0.0, 1.0, size=(n, dim))
    return x.astype(np.float32), (k % n_classes).astype(np.int64), centers


def nearest_centre_accuracy(dim: int, n_classes: int, sep: float, clusters: int = 1, seed: int = 0,
                            n: int = 2000) -> float:
    """Accuracy of the nearest-centre rule on a fresh mixture: with unit-variance blobs and
    equal priors, the Bayes accuracy (one blob a class) or close to it (several)."""
    rng = np.random.default_rng([seed, 17])
    x, y, centers = mixture(rng, n, dim, n_classes, sep, clusters)
    hit = 0
    for i in range(0, n, 250):  # chunks: 1,000 classes x 2 blobs x 250 points x dim floats
        d = ((x[i:i + 250, None, :] - centers[None]) ** 2).sum(-1)
        hit += int(np.sum(d.argmin(1) % n_classes == y[i:i + 250]))
    return hit / n


def separation_for(dim: int, n_classes: int, clusters: int, accuracy: float, seed: int = 0) -> float:
    """The `sep` at which the nearest-centre rule reaches `accuracy` (bisection on a log
    scale), so a task's difficulty does not depend on how many classes or dimensions it has:
    at a fixed sep, 1,000 classes in 16 dimensions are 11% separable and 3 classes 85%."""
    lo, hi = 0.2, 6.0
    for _ in range(14):  # 6/0.2 = 30x range halved 14 times: within 0.02% of sep
        mid = float(np.sqrt(lo * hi))
        if nearest_centre_accuracy(dim, n_classes, mid, clusters, seed) < accuracy:
            lo = mid
        else:
            hi = mid
    return float(f"{np.sqrt(lo * hi):.4g}")


def images(rng: np.random.Generator, n: int, side: int, n_classes: int, noise: float,
           templates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Structured 1-channel images: a smooth template per class, shifted by up to 2 pixels,
    plus pixel noise; values in [0, 1] like normalised pixels."""
    if templates is None:
        raw = rng.normal(size=(n_classes, side + 4, side + 4))
        kern = np.ones(3) / 3.0
        for axis in (1, 2):
            raw = np.apply_along_axis(lambda r: np.convolve(r, kern, mode="same"), axis, raw)
        templates = (raw - raw.min()) / (raw.max() - raw.min())
    y = rng.integers(0, n_classes, size=n)
    dx, dy = rng.integers(0, 5, size=n), rng.integers(0, 5, size=n)
    x = np.empty((n, 1, side, side), dtype=np.float32)
    for i in range(n):
        x[i, 0] = templates[y[i], dy[i]:dy[i] + side, dx[i]:dx[i] + side]
    x += rng.normal(0.0, noise, size=x.shape).astype(np.float32)
    return np.clip(x, 0.0, 1.0).astype(np.float32), y.astype(np.int64), templates


def regression(rng: np.random.Generator, n: int, dim: int, kind: str, teacher: dict | None = None
               ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Smooth targets of unit scale: a random two-layer teacher, or Friedman-like sines;
    the kinds multiply them by the run's target scale."""
    if teacher is None:
        teacher = {"w1": rng.normal(size=(dim, 32)) / np.sqrt(dim), "w2": rng.normal(size=(32,)) / np.sqrt(8.0),
                   "freq": rng.uniform(0.5, 2.0, size=dim)}
    x = rng.normal(size=(n, dim))
    if kind == "sines":
        y = np.sin(x[:, :4] * teacher["freq"][:4]).sum(1) / 2.0 + 0.3 * x[:, 4 % dim] * x[:, 5 % dim]
    else:
        y = np.tanh(x @ teacher["w1"]) @ teacher["w2"]
    y = y + rng.normal(0.0, 0.05, size=n)
    return x.astype(np.float32), y.astype(np.float32), teacher


def ring(rng: np.random.Generator, n: int, modes: int, radius: float, std: float) -> np.ndarray:
    """A 2-D mixture of `modes` Gaussians on a ring (the classic GAN toy); mode index kept
    in the last column so a run can sort by it."""
    k = rng.integers(0, modes, size=n)
    ang = 2 * np.pi * k / modes
    pts = np.stack([radius * np.cos(ang), radius * np.sin(ang)], 1) + rng.normal(0, std, size=(n, 2))
    return np.concatenate([pts, k[:, None]], 1).astype(np.float32)


with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the Zen
    import this
ZEN = codecs.decode(this.s, "rot13")

_NOUNS = ("model", "layer", "gradient", "batch", "loss", "network", "weight", "tensor", "epoch", "signal",
          "dataset", "optimizer", "kernel", "feature", "label", "sample", "vector", "matrix", "node", "graph",
          "cat", "river", "city", "garden", "engine", "planet", "teacher", "student", "window", "bridge")
_VERBS = ("updates", "learns", "predicts", "follows", "breaks", "finds", "reads", "builds", "moves", "holds",
          "sees", "keeps", "drops", "joins", "turns", "fills", "takes", "shows", "brings", "tests")
_ADJS = ("small", "large", "quiet", "noisy", "deep", "shallow", "bright", "dark", "sparse", "dense",
         "early", "late", "simple", "complex", "stable", "fragile", "new", "old", "fast", "slow")
_ADVS = ("slowly", "quickly", "often", "rarely", "always", "never", "again", "together", "alone", "soon")
_PREPS = ("over", "under", "with", "without", "near", "after", "before", "inside", "beyond", "through")


def grammar_text(rng: np.random.Generator, n_sentences: int, variant: int = 0) -> str:
    """Sentences of a toy English grammar with Zipf-like word choice; `variant` shifts the
    word distribution (a held-out domain for distribution-shift runs)."""
    def pick(words: tuple[str, ...]) -> str:
        w = 1.0 / np.arange(1, len(words) + 1) ** 1.1
        order = np.roll(np.arange(len(words)), 7 * variant)
        return words[order[rng.choice(len(words), p=w / w.sum())]]
    out = []
    for _ in range(n_sentences):
        s = ["the", pick(_ADJS), pick(_NOUNS), pick(_VERBS), "the", pick(_NOUNS)]
        if rng.random() < 0.5:
            s += [pick(_PREPS), "the", pick(_ADJS), pick(_NOUNS)]
        if rng.random() < 0.4:
            s.insert(4, pick(_ADVS))
        out.append(" ".join(s) + " .")
    return " ".join(out)


def char_corpus(rng: np.random.Generator, n_sentences: int, variant: int = 0) -> str:
    """Character-level training text: the Zen of Python interleaved with grammar sentences."""
    zen = ZEN.lower().replace("\n", " ")
    parts = []
    for _ in range(4):
        parts.append(grammar_text(rng, n_sentences // 4, variant))
        if variant == 0:
            parts.append(zen)
    return " ".join(parts)
