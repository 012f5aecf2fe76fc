"""CSV-shaped logs: Lightning's CSVLogger (metrics.csv + hparams.yaml), Keras' CSVLogger
(training.log with Keras 2 names, history.csv with Keras 3 names; epoch means, `NA` for a
value an epoch lacks), a plain wide CSV and a long step,tag,value CSV."""

from __future__ import annotations

import os

import yaml

from .logview import Logged


def _fmt(v) -> str:
    from .writers import fmt_num
    return "" if v is None else fmt_num(v) if isinstance(v, float) else str(v)


def _table(path: str, header: list[str], rows: list[dict], truncated: bool, na: str = "") -> None:
    lines = [",".join(header)]
    for r in rows:
        lines.append(",".join(_fmt(r[h]) if h in r else na for h in header))
    text = "\n".join(lines) + "\n"
    if truncated and len(lines) > 3:  # the job died while writing its last row
        text = text[:len(text) - 1 - len(lines[-1]) // 2]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def _names(recs: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for r in recs:
        for k in r:
            if not k.startswith("_"):
                seen.setdefault(k, None)
    return list(seen)


def lightning(run_dir: str, recs: list[dict], lg: Logged, spec: dict, hparams: dict | None) -> list[str]:
    """metrics.csv: 0-based global step, epoch, train rows and validation rows apart; with
    `pl_stepepoch` the step values are `*_step` and an epoch-mean row `*_epoch` closes each epoch."""
    d = os.path.join(run_dir, "lightning_logs", "version_0")
    rows = []
    for r in recs:
        row = {k: v for k, v in r.items() if not k.startswith("_") and k not in ("step", "epoch")}
        if spec["flavor"] == "pl_stepepoch" and r["_kind"] == "train":
            row = {(f"{k}_step" if k.startswith("train_") else k): v for k, v in row.items()}
        rows.append({"epoch": int(r["_epoch"]), "step": r["step"] - 1, **row})
    if spec["flavor"] == "pl_stepepoch":
        rows = _with_epoch_means(rows, lg)
    header = sorted(_names(rows))
    path = os.path.join(d, "metrics.csv")
    _table(path, header, rows, spec.get("truncated", False))
    files = [path]
    if hparams:
        hp = os.path.join(d, "hparams.yaml")
        with open(hp, "w", encoding="utf-8") as fh:
            yaml.safe_dump(hparams, fh, sort_keys=False)
        files.append(hp)
    return files


def _with_epoch_means(rows: list[dict], lg: Logged) -> list[dict]:
    """Lightning's on_epoch row (the mean of the epoch's step values), written after the
    epoch's last training row."""
    s, v = lg.series["train_loss"]
    e = (s - 1) // max(1, lg.epoch_len)
    last_row = {}
    for i, r in enumerate(rows):
        if "train_loss_step" in r:
            last_row[r["epoch"]] = i
    out: list[dict] = []
    for i, r in enumerate(rows):
        out.append(r)
        ep = r["epoch"]
        if last_row.get(ep) == i and (e == ep).any() and not r.get("_again"):
            out.append({"epoch": ep, "step": r["step"], "train_loss_epoch": float(v[e == ep].mean())})
    return out


def keras(run_dir: str, recs: list[dict], lg: Logged, spec: dict) -> list[str]:
    """One row per epoch (0-based); Keras 2 sorts its keys and says `acc`, Keras 3 `accuracy`."""
    by_epoch: dict[int, dict] = {}
    for r in recs:
        ep = int(r["_epoch"]) if r["_kind"] == "train" else int((r["step"] - 1) // max(1, lg.epoch_len))
        row = by_epoch.setdefault(ep, {"epoch": ep})
        row.update({k: v for k, v in r.items() if not k.startswith("_") and k not in ("step", "epoch")})
    rows = [by_epoch[k] for k in sorted(by_epoch)]
    if spec["flavor"] == "keras2":
        ren = {"accuracy": "acc", "val_accuracy": "val_acc", "learning_rate": "lr"}
        rows = [{ren.get(k, k): v for k, v in r.items()} for r in rows]
    names = [n for n in _names(rows) if n != "epoch"]
    header = ["epoch", *sorted(names)]
    path = os.path.join(run_dir, "training.log" if spec["flavor"] == "keras2" else "history.csv")
    _table(path, header, rows, spec.get("truncated", False), na="NA")
    return [path]


def plain(run_dir: str, recs: list[dict], spec: dict, clock) -> list[str]:
    """A hand-rolled wide CSV (step, epoch, wall time, metrics; empty cells where a metric was
    not logged), or a long step,tag,value export."""
    if spec["flavor"] == "csv_long":
        rows = [{"wall_time": clock(r["step"]), "step": r["step"], "tag": k, "value": v}
                for r in recs for k, v in r.items() if not k.startswith("_") and k not in ("step", "epoch")]
        path = os.path.join(run_dir, "scalars.csv")
        _table(path, ["wall_time", "step", "tag", "value"], rows, spec.get("truncated", False))
        return [path]
    rows = []
    for r in recs:
        row = {"step": r["step"], "epoch": int(r["_epoch"]), "time": round(clock.runtime(r["step"]), 2)}
        row.update({k: v for k, v in r.items() if not k.startswith("_") and k not in ("step", "epoch")})
        if rows and rows[-1]["step"] == row["step"] and not set(rows[-1]) & (set(row) - {"step", "epoch", "time"}):
            rows[-1].update(row)
        else:
            rows.append(row)
    names = [n for n in _names(rows) if n not in ("step", "epoch", "time")]
    path = os.path.join(run_dir, spec.get("file", "log.csv"))
    _table(path, ["step", "epoch", "time", *names], rows, spec.get("truncated", False))
    return [path]


def write(run_dir: str, recs: list[dict], lg: Logged, spec: dict, clock, hparams: dict | None) -> list[str]:
    if spec["format"] == "lightning_csv":
        return lightning(run_dir, recs, lg, spec, hparams)
    if spec["format"] == "keras_csv":
        return keras(run_dir, recs, lg, spec)
    return plain(run_dir, recs, spec, clock)
