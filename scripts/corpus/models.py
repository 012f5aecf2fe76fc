"""Small torch models (MLP, CNN, RNN, transformer) with the knobs faults turn.

Each model takes an `arch` dict (plain data, so it goes into labels and config hashes):
width, depth, act, dropout, out_act (an activation wrongly put on the output), norm.
`init_weights` applies the initialisations healthy runs use and the broken ones faults use.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ACTS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "leaky": nn.LeakyReLU}
OUT_ACTS = {"softmax": lambda t: torch.softmax(t, -1), "sigmoid": torch.sigmoid, "relu": torch.relu,
            "tanh": torch.tanh}


class OutAct(nn.Module):
    """An activation on the final layer (identity when None): wrong_output_activation's site."""

    def __init__(self, name: str | None) -> None:
        super().__init__()
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # names not listed here (softmax_cls, relu_emb) are applied by the task on one head
        return OUT_ACTS[self.name](x) if self.name in OUT_ACTS else x


def mlp(d_in: int, d_out: int, arch: dict) -> nn.Sequential:
    """Linear-act(-dropout) blocks of `width`, `depth` hidden layers, then the output layer."""
    act = ACTS[arch.get("act", "relu")]
    layers: list[nn.Module] = []
    d = d_in
    for _ in range(arch.get("depth", 2)):
        layers += [nn.Linear(d, arch["width"])]
        if arch.get("norm"):
            layers += [nn.LayerNorm(arch["width"])]
        layers += [act()]
        if arch.get("dropout", 0.0) > 0:
            layers += [nn.Dropout(arch["dropout"])]
        d = arch["width"]
    layers += [nn.Linear(d, d_out), OutAct(arch.get("out_act"))]
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    """Two conv layers and a linear head for 1-channel `side` x `side` images."""

    def __init__(self, side: int, d_out: int, arch: dict) -> None:
        super().__init__()
        c = max(2, min(12, arch["width"] // 8))
        act = ACTS[arch.get("act", "relu")]
        self.body = nn.Sequential(nn.Conv2d(1, c, 3, padding=1), act(), nn.MaxPool2d(2),
                                  nn.Conv2d(c, 2 * c, 3, padding=1), act(), nn.AdaptiveAvgPool2d(3), nn.Flatten())
        self.head = mlp(2 * c * 9, d_out, {**arch, "depth": 1})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class RecurrentLM(nn.Module):
    """Embedding, one recurrent layer (rnn/gru/lstm), and a vocabulary head."""

    def __init__(self, vocab: int, arch: dict) -> None:
        super().__init__()
        cell = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[arch.get("cell", "gru")]
        self.emb = nn.Embedding(vocab, arch["width"])
        rnn_kw = {"nonlinearity": arch.get("act", "tanh")} if arch.get("cell") == "rnn" else {}
        self.rnn = cell(arch["width"], arch["width"], num_layers=arch.get("depth", 1), batch_first=True,
                        dropout=arch.get("dropout", 0.0) if arch.get("depth", 1) > 1 else 0.0, **rnn_kw)
        self.drop = nn.Dropout(arch.get("dropout", 0.0))
        self.head = nn.Linear(arch["width"], vocab)
        self.out = OutAct(arch.get("out_act"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.rnn(self.emb(x))
        return self.out(self.head(self.drop(h)))


class TransformerLM(nn.Module):
    """A tiny causal transformer: learned positions, `depth` encoder blocks (post-LN unless
    arch['pre_ln']), a vocabulary head."""

    def __init__(self, vocab: int, seq: int, arch: dict) -> None:
        super().__init__()
        d = arch["width"]
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.zeros(1, seq, d))
        layer = nn.TransformerEncoderLayer(d, max(1, d // 16), 2 * d, dropout=arch.get("dropout", 0.0),
                                           batch_first=True, norm_first=bool(arch.get("pre_ln", False)))
        self.blocks = nn.TransformerEncoder(layer, arch.get("depth", 1), enable_nested_tensor=False)
        self.head = nn.Linear(d, vocab)
        self.out = OutAct(arch.get("out_act"))
        self.register_buffer("mask", torch.triu(torch.full((seq, seq), float("-inf")), 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[1]
        h = self.blocks(self.emb(x) + self.pos[:, :n], mask=self.mask[:n, :n])
        return self.out(self.head(h))


WEIGHTED = (nn.Linear, nn.Conv2d, nn.Embedding, nn.RNNBase)


def init_weights(model: nn.Module, init: str, scale: float = 1.0, bias: float = 0.0) -> None:
    """Healthy `default`/`kaiming`, or broken: `zeros` (every unit the same), `const`,
    `large`/`small` (default std times `scale`), `neg_bias` (ReLUs start dead).  Only the
    weights of linear, conv, embedding and recurrent layers: norms keep their unit scale."""
    with torch.no_grad():
        for mod in model.modules():
            if not isinstance(mod, WEIGHTED):
                continue
            for name, p in mod.named_parameters(recurse=False):
                _init_one(p, p.dim() >= 2 and "bias" not in name, init, scale, bias)


def _init_one(p: torch.Tensor, is_w: bool, init: str, scale: float, bias: float) -> None:
    if init == "kaiming" and is_w:
        nn.init.kaiming_normal_(p, nonlinearity="relu")
    elif init == "zeros":
        p.zero_()
    elif init == "const":
        p.fill_(scale if is_w else 0.0)
    elif init in ("large", "small") and is_w:
        p.mul_(scale)
    elif init == "neg_bias" and not is_w:
        p.fill_(-abs(bias))


def count_params(model: nn.Module) -> int:
    """Trainable parameters, for the label's notes."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def grad_norm(params: list[torch.Tensor]) -> float:
    """Global L2 norm of the gradients (what clip_grad_norm_ reports); NaN stays NaN."""
    total = 0.0
    for p in params:
        if p.grad is not None:
            total += float(p.grad.detach().pow(2).sum())
    return math.sqrt(total) if math.isfinite(total) else float("nan")
