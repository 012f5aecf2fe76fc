"""What kind of training a run is, as the rules and detectors see it: the typed run context,
built once per run (by `ruleset.context.run_context`) before any rule judges it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("classification", "binary", "regression", "language_model", "detection", "segmentation", "speech",
         "contrastive", "diffusion", "gan", "rl", "unknown")
# the kinds whose loss is one classification cross-entropy, with ln C as the level of a uniform guess
CLASS_KINDS = frozenset({"classification", "binary"})
# kinds whose training loss has no reference shape (fast fall, then a floor): detection and
# segmentation losses are sums of parts that keep falling slowly by design (box regression refines
# for hundreds of epochs), CTC and contrastive losses scale with sequence length and batch,
# diffusion losses sit near a floor from the start; shape rules (slow, plateau, delayed start) cannot judge them
SHAPELESS_KINDS = frozenset({"detection", "segmentation", "speech", "contrastive", "diffusion", "gan", "rl"})
# kinds whose losses are not minimised toward a floor: a GAN's losses hover at an equilibrium, an
# RL policy or value loss moves with the data the policy collects; a flat loss there is no
# "no learning" (the return, or the samples, say whether it learns)
EQUILIBRIUM_KINDS = frozenset({"gan", "rl"})


@dataclass(frozen=True)
class RunContext:
    """What a run is, read once before any rule judges it."""
    kind: str = "unknown"  # one of KINDS
    kind_from: str = ""
    n_classes: int | None = None  # only from the hyperparameters
    classes_from: str | None = None
    single_ce: bool = False
    accuracy_tasks: tuple[str, ...] = ()
    loss_components: tuple[str, ...] = ()
    regression: str | None = None  # the metric that says regression
    fine_tune: bool | None = None  # None: not known
    starts_at_init: bool = False  # the train loss log covers the start of training
    cadence: str = "unknown"  # step, every_n, epoch (epoch means), unknown
    sparse_eval: bool = False
    epoch_len: float | None = None
    optimizer: str | None = None  # adam, sgd, rmsprop, adagrad families
    lr_schedule: str | None = None  # constant, decay, warmup, warmup_decay, cyclic; None: no lr logged
    warmup_end: float | None = None  # the step the logged lr warmup reaches its peak; None: no warmup seen
    hparams: Mapping[str, Any] = field(default_factory=dict)

    @property
    def classification(self) -> dict[str, Any]:
        """The classification facts as one mapping (what detectors read for the class reference)."""
        return {"single_ce": self.single_ce, "accuracy_tasks": list(self.accuracy_tasks),
                "loss_components": list(self.loss_components), "n_classes": self.n_classes,
                "classes_from": self.classes_from}

    def summary(self) -> dict[str, Any]:
        """The context as plain data for `inspect` and the reports (no hyperparameters)."""
        return {"kind": self.kind, "kind_from": self.kind_from, "n_classes": self.n_classes,
                "fine_tune": self.fine_tune, "cadence": self.cadence, "sparse_eval": self.sparse_eval,
                "epoch_len": self.epoch_len, "optimizer": self.optimizer, "lr_schedule": self.lr_schedule,
                "warmup_end": self.warmup_end, "starts_at_init": self.starts_at_init}


def a_run(kind: str) -> str:
    """`a classification run`, `an unknown run`: the kind with its article, as messages say it."""
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind} run"
