"""Metric roles from names (rules/roles.yaml), user overrides, and primary-metric choice."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from . import rulecache
from .errors import UsageError
from .model import Role, RunData, Series
from .resources import builtin_rules_dir, safe_loader

KINDS = ("loss", "accuracy", "error", "perplexity", "score", "reward", "lr", "grad_norm", "update_ratio",
         "dead_frac", "reg_loss", "gan_loss", "aux_loss", "throughput", "epoch", "other")
SPLITS = ("train", "val", "test")
# kinds an unsplit name keeps in training even beside a spelled-out "train_loss": a bare "loss"
# there is the same training loss, and a penalty term ("reg_loss", "l2") is added in training only
TRAIN_ONLY_KINDS = frozenset({"loss", "reg_loss"})
_DIRECTIONS = {"loss": "lower", "error": "lower", "perplexity": "lower", "reg_loss": "lower",
               "accuracy": "higher", "score": "higher", "reward": "higher"}


@dataclass(frozen=True)
class RoleTable:
    splits: Mapping[str, tuple[str, ...]]
    weak_splits: Mapping[str, tuple[str, ...]]
    default_train: frozenset[str]
    kinds: tuple[tuple[str, str, re.Pattern[str]], ...]
    plain_tokens: frozenset[str]
    objective_errors: frozenset[str] = frozenset()


def normalise(name: str) -> str:
    """`Loss/train` -> `loss_train`, `lr-Adam` -> `lr_adam`, `GradNorm/0` -> `grad_norm_0`."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    s = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", s)
    s = re.sub(r"[^0-9a-zA-Z]+", "_", s.lower()).strip("_")
    return s


@lru_cache(maxsize=1)
def default_table() -> RoleTable:
    data = rulecache.part("roles.yaml")
    if data is None:
        import yaml

        with open(builtin_rules_dir() / "roles.yaml", encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=safe_loader())
    return table_from(data)


def table_from(data: Mapping[str, Any]) -> RoleTable:
    kinds = tuple((k["kind"], k.get("direction", _DIRECTIONS.get(k["kind"], "none")), re.compile(k["regex"]))
                  for k in data["kinds"])
    return RoleTable(
        splits={s: tuple(v) for s, v in data["splits"].items()},
        weak_splits={s: tuple(v) for s, v in data.get("weak_splits", {}).items()},
        default_train=frozenset(data.get("default_train_split", ())),
        kinds=kinds,
        plain_tokens=frozenset(data.get("plain_loss_tokens", ())),
        objective_errors=frozenset(data.get("objective_errors", ())),
    )


def infer_role(name: str, table: RoleTable | None = None) -> Role:
    """Split, kind and direction of a metric from its name."""
    return _infer(name, table)[0]


def _infer(name: str, table: RoleTable | None = None) -> tuple[Role, bool]:
    """The role, and whether the name itself says its split (False: the split is a default)."""
    table = table or default_table()
    norm = normalise(name)
    tokens = norm.split("_")
    split = None
    for level in (table.splits, table.weak_splits):
        for s in ("test", "val", "train"):
            if any(t in tokens for t in level.get(s, ())):
                split = s
                break
        if split:
            break
    kind, direction = "other", "none"
    for k, d, rx in table.kinds:
        if rx.search(norm):
            kind, direction = k, d
            break
    explicit = split is not None
    if kind not in _DIRECTIONS:
        split = None
    elif split is None and kind in table.default_train:
        split = "train"
    return Role(split, kind, direction), explicit


def parse_role_name(text: str) -> Role:
    """`val_loss` -> Role('val', 'loss', 'lower'); `lr` -> Role(None, 'lr', 'none')."""
    text = text.strip()
    for s in SPLITS:
        if text.startswith(s + "_") and text[len(s) + 1:] in KINDS:
            k = text[len(s) + 1:]
            return Role(s, k, _DIRECTIONS.get(k, "none"))
    if text in KINDS:
        return Role(None, text, _DIRECTIONS.get(text, "none"))
    raise UsageError(f"unknown role {text!r}; valid: <split>_<kind> with split in {SPLITS} and kind in {KINDS}, or a bare kind")


def load_overrides(path: str) -> list[tuple[str, Role]]:
    """A `--roles` file: a mapping of metric name or glob pattern to a role name."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=safe_loader())
    except OSError as exc:
        raise UsageError(f"{path}: cannot read roles file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from exc
    if isinstance(data, dict) and "roles" in data:
        data = data["roles"]
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping 'metric name or glob: role', e.g. 'my_loss: train_loss'")
    out = []
    for pat, role in data.items():
        try:
            out.append((str(pat), parse_role_name(str(role))))
        except UsageError as exc:
            raise UsageError(f"{path}: {pat}: {exc}") from exc
    return out


def assign_roles(metrics: Iterable[str], overrides: list[tuple[str, Role]] | None = None) -> dict[str, Role]:
    """Roles of one run's metrics.  A metric whose name has no split token is a training
    metric (Keras' `loss`/`accuracy`), except in a run that spells its training loss out
    (`train_loss`, fastai's `train_loss,valid_loss,accuracy`) and has no validation metric of
    that kind: there the bare metric is computed on validation data."""
    names = list(metrics)
    out: dict[str, Role] = {}
    defaulted: list[str] = []
    for m in names:
        role = None
        for pat, r in overrides or ():
            if m == pat or fnmatch.fnmatchcase(m, pat):
                role = r
                break
        if role is None:
            role, explicit = _infer(m)
            if not explicit and role.split == "train":
                defaulted.append(m)
        out[m] = role
    if any(r.kind == "reward" for r in out.values()):
        # a run that logs returns is reinforcement learning: its value/policy losses chase moving
        # targets (a value loss rises as returns grow), so they are not minimised curves
        for m in names:
            if out[m].kind == "loss" and not _overridden(m, overrides):
                out[m] = Role(None, "aux_loss", "none")
    _errors_as_losses(out, overrides)
    spelled_train = any(out[m].name == "train_loss" and m not in defaulted for m in names)
    if spelled_train:
        val_kinds = {r.kind for r in out.values() if r.split == "val"}
        for m in defaulted:
            r = out[m]
            if r.kind not in TRAIN_ONLY_KINDS and r.kind not in val_kinds:
                out[m] = Role("val", r.kind, r.direction)
    return out


def _overridden(metric: str, overrides: list[tuple[str, Role]] | None) -> bool:
    """Whether the user's `--roles` file names this metric (its role then stays the user's)."""
    return any(metric == p or fnmatch.fnmatchcase(metric, p) for p, _ in overrides or ())


def _errors_as_losses(out: dict[str, Role], overrides: list[tuple[str, Role]] | None) -> None:
    """A run that logs no loss but its objective by the error's name (`train_mse`, `val_mse`: a
    regression loop) is trained on that error: its errors that name an objective are its losses.
    Only with a training one among them: an evaluation-only `val_mae` beside a GAN's or an RL
    run's own objectives is a score of the run, not what it minimises."""
    if any(r.kind in ("loss", "gan_loss", "reward") for r in out.values()):
        return
    objectives = default_table().objective_errors
    picked = [m for m, r in out.items() if r.kind == "error" and objectives.intersection(normalise(m).split("_"))
              and not _overridden(m, overrides)]
    if any(out[m].split == "train" for m in picked):
        for m in picked:
            out[m] = Role(out[m].split, "loss", "lower")


def build_series(run: RunData, overrides: list[tuple[str, Role]] | None = None) -> dict[str, Series]:
    """Every metric of a run as a sorted Series with its role."""
    t = run.table
    if t.empty:
        return {}
    import pandas as pd  # not at import time: a cached re-scan never needs pandas

    metric = t["metric"]
    if isinstance(metric.dtype, pd.CategoricalDtype):  # the readers' tidy tables: its codes, no hashing
        codes, cats = metric.cat.codes.to_numpy(), metric.cat.categories
    else:
        codes, cats = pd.factorize(metric, sort=False)
    names = [str(n) for n in cats.tolist()]  # plain strings once (indexing an Arrow-backed index costs ~20 us)
    steps = t["step"].to_numpy(dtype=float)
    values = t["value"].to_numpy(dtype=float)
    if codes.size > 1 and not bool(np.all(codes[1:] >= codes[:-1])):  # load_run sorts by metric: rarely
        order = np.argsort(codes, kind="stable")
        codes, steps, values = codes[order], steps[order], values[order]
    # sorted codes: each metric's rows start where its code first appears
    present = np.arange(len(names))
    # searched for in the codes' own dtype (int8 for a few metrics): other keys would have numpy
    # convert the whole column of codes first, twice (24 MB for a 3M-row table)
    keys = present.astype(codes.dtype) if codes.dtype.kind == "i" and len(names) <= np.iinfo(codes.dtype).max else present
    starts = np.searchsorted(codes, keys, side="left")
    ends = np.searchsorted(codes, keys, side="right")
    roles = assign_roles([names[c] for c in present[ends > starts]], overrides)
    out: dict[str, Series] = {}
    for c, a, b in zip(present, starts, ends):
        if b <= a:
            continue  # a category without rows (or a missing metric name, code -1)
        name = names[c]
        st, v = steps[a:b], values[a:b]
        if st.size > 1 and bool((st[1:] < st[:-1]).any()):
            o = np.argsort(st, kind="stable")
            st, v = st[o], v[o]
        out[name] = Series(name, roles[name], st, v)
    return dict(sorted(out.items()))


@lru_cache(maxsize=4096)  # asked for each candidate of every role a rule binds, run after run
def _plainness(name: str) -> int:
    toks = normalise(name).split("_")
    extra = [t for t in toks if t not in default_table().plain_tokens and not t.isdigit()]
    return len(extra)


def primary(series: Mapping[str, Series], role: str) -> Series | None:
    """The metric that best represents a role: a plain name first, then the most points.  A run
    that evaluates on a held-out split it calls `test` and logs no `val_*` metric gets its
    `test_*` metric for `val_*` (many training loops name their only held-out set so)."""
    cands = [s for s in series.values() if s.role.name == role and len(s) > 0]
    if not cands and role.startswith("val_"):
        test_role = "test_" + role[4:]
        if not any(s.role.split == "val" for s in series.values()):
            cands = [s for s in series.values() if s.role.name == test_role and len(s) > 2]
    if not cands:
        return None
    return sorted(cands, key=lambda s: (_plainness(s.metric), -len(s), s.metric))[0]
