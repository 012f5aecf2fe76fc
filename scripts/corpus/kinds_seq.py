"""Language modelling: character- or word-level next-token prediction with a small RNN
(rnn/gru/lstm) or a tiny causal transformer, on the Zen of Python and toy-grammar text."""

from __future__ import annotations

import copy

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


def mixed_tokens(cfg: dict, rng: np.random.Generator, variant: int) -> tuple[list[str], str]:
    """The tokens of a run's text; a fine-tune's text holds a share cfg['ft_new'] of sentences
    of its own variant, in four blocks alternating with the base text's (an SFT set resembles
    what the checkpoint saw, more or less); validation windows, the first ones, see both."""
    share = cfg.get("ft_new", 1.0) if cfg.get("pretrain_steps") else 1.0
    if share >= 1.0 or variant == 0:
        return tokens(cfg, rng, variant)
    n, out, src = cfg["n_sentences"], [], ""
    for _ in range(4):
        new, src = tokens({**cfg, "n_sentences": max(1, round(n * share / 4))}, rng, variant)
        old = data.grammar_text(rng, max(1, round(n * (1 - share) / 4)), 0)
        out += new + ([" ", *old] if cfg["level"] == "char" else old.split(" "))
    return out, f"{src} ({share:.0%} new, the rest as pre-trained)"


class LanguageModel(SupervisedTask):
    """Next-token cross-entropy over windows of `seq` tokens; validation on held-out text
    (of another grammar variant when the run has a distribution shift)."""

    has_acc = False

    def __init__(self, cfg: dict, rng: np.random.Generator) -> None:
        own = cfg.get("ft_variant", 0) if cfg.get("pretrain_steps") else 0  # a fine-tune's own text
        pre = pretrain_tokens(cfg) if cfg.get("pretrain_steps") else []
        trn, src = mixed_tokens(cfg, rng, own)
        val, _ = mixed_tokens({**cfg, "n_sentences": max(40, cfg["n_sentences"] // 8)}, rng,
                              own + 1 + int(3 * cfg["shift"]) if cfg.get("shift") else own)
        vocab = sorted(set(trn) | set(val) | set(pre))
        ids = {t: i for i, t in enumerate(vocab)}
        seq = cfg["seq"]
        self.xtr, self.ytr = self._windows(np.array([ids[t] for t in trn]), seq, rng, cfg.get("label_noise", 0.0), len(vocab))
        xva, yva = self._windows(np.array([ids[t] for t in val]), seq, None, 0.0, len(vocab))
        self.xva, self.yva = xva[:48], yva[:48]
        self.vocab, self.source = len(vocab), src
        self.model = make_model(cfg, self.vocab, cfg["arch"])
        self.setup(cfg)
        if pre and not cfg.get("skip_pretrained"):  # skip: "forgot to load the checkpoint"
            weights = pretrained(cfg, np.array([ids[t] for t in pre]), self.vocab)
            with torch.no_grad():
                for p, q in zip(self.model.parameters(), weights):
                    p.copy_(q)
            if self.initial is not None:  # a frozen evaluation scores the checkpoint as loaded
                self.initial = copy.deepcopy(self.model)

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


def pretrain_tokens(cfg: dict) -> list[str]:
    """The pre-training text of a fine-tune: four times its own size, of the base variant
    (for characters the Zen of Python and grammar; the fine-tune's text has other words)."""
    return tokens({**cfg, "n_sentences": 4 * cfg["n_sentences"]}, np.random.default_rng(cfg["seed"] + 5), 0)[0]


_PRETRAINED: dict[str, list[torch.Tensor]] = {}
PRETRAIN_KEYS = ("seed", "level", "model", "seq", "n_sentences", "arch", "pretrain_steps")


def make_model(cfg: dict, vocab: int, arch: dict) -> torch.nn.Module:
    if cfg["model"] == "transformer":
        return TransformerLM(vocab, cfg["seq"], arch)
    return RecurrentLM(vocab, {**arch, "cell": cfg["model"]})


def pretrained(cfg: dict, ids: np.ndarray, vocab: int) -> list[torch.Tensor]:
    """Weights after Adam (3e-3, batch 32, clipped at 1) for cfg['pretrain_steps'] on the
    pre-training text, from the default init of the run's architecture (without a faulty
    output activation: the checkpoint is a good one); cached per seed and config, so a
    faulty run and its twin start from the same checkpoint.  The global torch rng is
    restored, so a run's training draws do not depend on whether the cache was warm."""
    arch = {k: v for k, v in cfg["arch"].items() if k != "out_act"}
    key = repr(sorted((k, str(v)) for k, v in {**cfg, "arch": arch}.items() if k in PRETRAIN_KEYS))
    if key not in _PRETRAINED:
        state = torch.get_rng_state()
        torch.manual_seed(cfg["seed"] + 5)
        model = make_model(cfg, vocab, arch)
        x, y = LanguageModel._windows(ids, cfg["seq"], None, 0.0, 0)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        g = torch.Generator().manual_seed(cfg["seed"] + 6)
        model.train()
        for _ in range(cfg["pretrain_steps"]):
            idx = torch.randint(0, x.shape[0], (32,), generator=g)
            out = model(x[idx])
            loss = torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        _PRETRAINED[key] = [p.detach().clone() for p in model.parameters()]
        torch.set_rng_state(state)
    return _PRETRAINED[key]
