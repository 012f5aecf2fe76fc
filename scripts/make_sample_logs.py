"""Regenerate sample_logs/: a few tiny runs in each supported format, healthy and broken.

    python scripts/make_sample_logs.py

Uses the seeded generators of tests/synth.py, so the files are reproducible.
"""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import synth  # noqa: E402
import writers  # noqa: E402

OUT = os.path.join(HERE, "..", "sample_logs")


def thin(c, every):
    """Fewer training points, so the sample files stay at a few kilobytes."""
    idx = np.arange(every - 1, c.steps.size, every)
    c.steps, c.train_loss, c.lr = c.steps[idx], c.train_loss[idx], c.lr[idx]
    if c.grad_norm is not None:
        c.grad_norm = c.grad_norm[idx]
    return c


def main() -> None:
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    d = writers.write_tensorboard(os.path.join(OUT, "tensorboard", "lr_too_high"),
                                  writers.curves_scalars(thin(synth.diverging(seed=11), 2)), wall0=1.7e9,
                                  filename_suffix="")
    for f in os.listdir(d):  # a stable file name
        os.rename(os.path.join(d, f), os.path.join(d, "events.out.tfevents.1700000000.sample.1.0"))
    d = writers.write_tensorboard(os.path.join(OUT, "tensorboard", "healthy_tf2"),
                                  writers.curves_scalars(thin(synth.healthy(seed=12), 3)), tf2=True)
    for f in os.listdir(d):
        os.rename(os.path.join(d, f), os.path.join(d, "events.out.tfevents.1700000001.sample.2.0.v2"))
    writers.write_lightning_csv(os.path.join(OUT, "lightning", "unshuffled", "version_0"), synth.unshuffled(seed=13),
                                hparams={"optimizer": "SGD", "batch_size": 16})
    writers.write_keras_csv(os.path.join(OUT, "keras", "overfitting", "training.log"), synth.overfitting(seed=14))
    writers.write_jsonl(os.path.join(OUT, "jsonl", "nan_midway", "metrics.jsonl"), thin(synth.nan_sudden(seed=15), 2))
    writers.write_trainer_state(os.path.join(OUT, "huggingface", "stuck_at_chance", "trainer_state.json"),
                                synth.stuck(seed=16))
    writers.write_mlflow(os.path.join(OUT, "mlflow"), thin(synth.slow(seed=17), 4))


if __name__ == "__main__":
    main()
