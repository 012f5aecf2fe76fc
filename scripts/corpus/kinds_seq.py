"""Language modelling: character- or word-level next-token prediction with a small RNN
(rnn/gru/lstm) or a tiny causal transformer, on the Zen of Python and toy-grammar text."""

from __future__ import annotations

import numpy as np
import torch

from . import data
from .kinds_base import SupervisedTask, stable_ce
from .models import RecurrentLM, TransformerLM


def tokens(cfg: dict, rng: np.random.Generator, variant: int) -> tuple[list[str], str]:
    """The token sequence of the run's text (characters or words) and its source name."""
    n = cfg["n_sentences"]
    if cfg["level"] == "char":
        text = data.char_corpus(rng, n, variant)
        return list(text), "zen+grammar chars"
    return data.grammar_text(rng, n, variant).split(" "), "grammar words"


class LanguageModel(SupervisedTask):
    """Next-token cross-entropy over windows of `seq` tokens; validation on held-out text
    (of another grammar variant when the run has a distribution shift)."""

    has_acc = False

    def __init__(self, cfg: dict, rng: np.random.Generator) -> None:
        trn, src = tokens(cfg, rng, 0)
        val, _ = tokens({**cfg, "n_sentences": max(40, cfg["n_sentences"] // 8)}, rng,
                        1 + int(3 * cfg["shift"]) if cfg.get("shift") else 0)
        vocab = sorted(set(trn) | set(val))
        ids = {t: i for i, t in enumerate(vocab)}
        seq = cfg["seq"]
        self.xtr, self.ytr = self._windows(np.array([ids[t] for t in trn]), seq, rng, cfg.get("label_noise", 0.0), len(vocab))
        xva, yva = self._windows(np.array([ids[t] for t in val]), seq, None, 0.0, len(vocab))
        self.xva, self.yva = xva[:48], yva[:48]
        self.vocab, self.source = len(vocab), src
        if cfg["model"] == "transformer":
            self.model = TransformerLM(self.vocab, seq, cfg["arch"])
        else:
            self.model = RecurrentLM(self.vocab, {**cfg["arch"], "cell": cfg["model"]})
        self.setup(cfg)

    @staticmethod
    def _windows(ids: np.ndarray, seq: int, rng: np.random.Generator | None, noise: float,
                 vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Overlapping windows (stride seq/2) and their next-token targets; `noise` replaces a
        fraction of the targets by random tokens (corrupted training text)."""
        starts = np.arange(0, len(ids) - seq - 1, max(1, seq // 2))
        x = np.stack([ids[s:s + seq] for s in starts])
        y = np.stack([ids[s + 1:s + seq + 1] for s in starts])
        if noise and rng is not None:
            bad = rng.random(y.shape) < noise
            y = np.where(bad, rng.integers(0, vocab, size=y.shape), y)
        return torch.from_numpy(x.astype(np.int64)), torch.from_numpy(y.astype(np.int64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def loss(self, out, y):
        logits = out.reshape(-1, out.shape[-1]) * self.cfg.get("logit_scale", 1.0)
        return stable_ce(logits, y.reshape(-1), bool(self.cfg.get("naive_loss"))), {}

    def metrics(self, out, y):
        res = super().metrics(out, y)
        pred = out.argmax(-1)
        res["val_token_acc"] = float((pred == y).float().mean())
        return res

    def info(self) -> dict:
        return {**super().info(), "vocab": self.vocab, "text": self.source}

