"""label.yaml of a run (the keys of the public fault corpus plus the generator's own), the
top-level index.csv, and meta.yaml (counts, drops, generator versions)."""

from __future__ import annotations

import csv
import json
import os
import platform

import yaml

from . import verdict
from .logview import Logged
from .symptoms import symptoms
from .train import History

INDEX_COLUMNS = ("run", "format", "flavor", "cause", "also_acceptable", "symptoms", "kind", "n_classes", "loss_kind",
                 "cadence", "model", "optimizer", "lr", "schedule", "batch_size", "steps", "fine_tune", "seed", "twin",
                 "strength", "dataset", "log_every", "eval_every", "messy", "effect", "files", "bytes")


def _model_desc(cfg: dict) -> str:
    a = cfg.get("arch", {})
    m = cfg.get("model", "mlp")
    desc = f"{m.upper() if m in ('mlp', 'cnn', 'rnn', 'gru', 'lstm') else m} width {a.get('width')} x{a.get('depth', 1)} {a.get('act', '')}"
    return desc + (f" dropout={a['dropout']:g}" if a.get("dropout") else "")


def notes(cfg: dict, hist: History, spec: dict, fault: tuple | None, eff: dict | None) -> str:
    """What was trained, how it was logged, what was injected and what it did."""
    ev = cfg.get("eval", {})
    info = ", ".join(f"{k}={v}" for k, v in sorted(hist.info.items()))
    s = (f"{cfg['kind']}: {_model_desc(cfg)} on {cfg.get('dataset')} ({info}); {cfg['optimizer']} lr={cfg['lr']:g}; "
         f"schedule {cfg['schedule']}; batch {cfg['batch']}; {cfg['steps']} steps; eval every {ev.get('every')} {ev.get('unit')}(s); "
         f"logged {spec['train']} (every {spec['every']}{', running mean' if spec.get('mean') else ''}).")
    if fault:
        s += f" Fault: {fault[0]}."
    if eff:
        bits = [f"{k}={eff[k]}" for k in ("final_ratio", "val_ratio", "metric_drop", "nan_step", "val_rise") if k in eff]
        s += " Measured vs twin: " + ", ".join(bits) + "."
    if spec.get("truncated"):
        s += f" Messy: crashed at step {spec.get('crash_at', '?')}: last record truncated."
    if spec.get("resumed"):
        s += f" Messy: resumed: crashed at step {spec['resumed'][0]}, restarted from step {spec['resumed'][1]}; overlap logged twice."
    if hist.stopped:
        s += f" The job stopped at step {len(hist.train.get('loss', []))} ({hist.stopped})."
    return s


def label(r: dict, cfg: dict, hist: History, lg: Logged, spec: dict, files: list[str], eff: dict | None,
          fault: tuple | None, tcfg: dict | None, out_dir: str) -> dict:
    """The label of one kept run."""
    if lg.crashed_at:
        spec["crash_at"] = lg.crashed_at
    cause = r["cause"]
    higher = hist.higher_is_better
    also = verdict.also_acceptable(cause, eff or {}, cfg, tcfg or cfg, higher) if cause != "healthy" else []
    rel = sorted(os.path.relpath(f, out_dir).replace(os.sep, "/") for f in files)
    ev = cfg.get("eval", {})
    return {
        "run": r["name"], "format": spec["format"], "cause": cause, "also_acceptable": also,
        "symptoms": symptoms(lg, cfg, eff, higher), "notes": notes(cfg, hist, spec, fault, eff),
        "kind": cfg["kind"], "n_classes": cfg.get("n_classes"), "loss_kind": cfg.get("loss_kind"),
        "cadence": spec["cadence"], "flavor": spec["flavor"], "model": cfg.get("model"), "optimizer": cfg["optimizer"],
        "lr": cfg["lr"], "schedule": cfg["schedule"], "batch_size": cfg["batch"], "steps": cfg["steps"],
        "fine_tune": bool(cfg.get("fine_tune")), "seed": cfg["seed"], "effect": eff or {},
        "twin": fault[2] if fault else None, "strength": fault[1] if fault else None, "dataset": cfg.get("dataset"),
        "log_every": spec["every"], "eval_every": f"{ev.get('every')} {ev.get('unit')}", "messy": spec.get("messy"),
        "files": rel, "bytes": sum(os.path.getsize(f) for f in files),
    }


def write_label(run_dir: str, lab: dict) -> None:
    with open(os.path.join(run_dir, "label.yaml"), "w", encoding="utf-8") as fh:
        yaml.safe_dump(lab, fh, sort_keys=False, width=110, allow_unicode=True)


def _cell(v) -> str:
    if isinstance(v, list):
        return ";".join(str(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True, separators=(",", ":"))
    return "" if v is None else str(v)


def write_index(out_dir: str, labels: list[dict]) -> None:
    """index.csv: one row per run, sorted by run name, the label keys flattened."""
    with open(os.path.join(out_dir, "index.csv"), "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(INDEX_COLUMNS)
        for lab in sorted(labels, key=lambda x: x["run"]):
            w.writerow([_cell(lab.get(c)) for c in INDEX_COLUMNS])


def write_meta(out_dir: str, labels: list[dict], dropped: list[dict], redraws: int, elapsed: float) -> None:
    """meta.yaml (a name logsleuth ignores): counts and what was dropped, no time stamps."""
    import numpy
    import torch

    def count(key: str) -> dict:
        out: dict = {}
        for lab in labels:
            out[str(lab[key])] = out.get(str(lab[key]), 0) + 1
        return dict(sorted(out.items()))

    meta = {"runs": len(labels), "dropped_no_effect": len(dropped), "recipes_redrawn": redraws,
            "healthy_share": round(sum(lab["cause"] == "healthy" for lab in labels) / max(1, len(labels)), 3),
            "by_kind": count("kind"), "by_cause": count("cause"), "by_format": count("format"), "by_flavor": count("flavor"),
            "by_cadence": count("cadence"), "dropped": sorted(dropped, key=lambda d: d["run"]),
            "generator": {"torch": str(torch.__version__), "numpy": str(numpy.__version__), "python": platform.python_version(),
                          "machine": platform.machine()}}
    with open(os.path.join(out_dir, "meta.yaml"), "w", encoding="utf-8") as fh:
        yaml.safe_dump(meta, fh, sort_keys=False, width=110)
