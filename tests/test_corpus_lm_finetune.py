"""Language-model fine-tunes in the generated corpus: a share of the language-model recipes
starts from a checkpoint pre-trained on other text (the LoRA/SFT runs people share), and
Hugging Face-style LMs may log next-token accuracy as `eval_accuracy` (run_clm.py does).
The recipe and naming tests are numpy only; training needs torch (skipped without it)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "scripts"))

from corpus import faults, kinds, names, plan, recipes  # numpy only

FT_KEYS = {"pretrain_steps", "ft_variant", "ft_new", "fine_tune", "lr", "dataset"}


def _lm(seed: int) -> dict:
    return kinds.sample("language_model", np.random.default_rng(seed), seed)


def test_a_share_of_language_models_are_fine_tunes():
    cfgs = [_lm(s) for s in range(200)]
    share = np.mean([bool(c.get("pretrain_steps")) for c in cfgs])
    assert 0.25 < share < 0.55
    assert all(c["fine_tune"] == bool(c.get("pretrain_steps")) for c in cfgs)


def test_the_fine_tune_draw_comes_last(monkeypatch):
    """With no fine-tunes drawn, every recipe is the from-scratch one: the fine-tune keys and
    a lower rate are the only difference, so from-scratch LMs of any seed are unchanged."""
    ft = {s: _lm(s) for s in range(60)}
    monkeypatch.setattr(recipes, "LM_FINE_TUNE_SHARE", 0.0)
    scratch = {s: _lm(s) for s in range(60)}
    n = 0
    for s, cfg in ft.items():
        if not cfg.get("pretrain_steps"):
            assert cfg == scratch[s]
            continue
        n += 1
        assert {k: v for k, v in cfg.items() if k not in FT_KEYS} == {k: v for k, v in scratch[s].items() if k not in FT_KEYS}
        assert cfg["lr"] < scratch[s]["lr"]
    assert n > 10


def test_a_fine_tune_that_never_loads_its_checkpoint_is_bad_init():
    cfg = next(c for c in (_lm(s) for s in range(50)) if c.get("pretrain_steps"))
    _, faulty, what = faults.inject("bad_weight_init", cfg, 2.0, np.random.default_rng(0))
    assert faulty["skip_pretrained"] and "checkpoint not loaded" in what


def test_plan_restricted_to_one_kind():
    groups = plan.plan(3, 60, only_kinds=("language_model",))
    assert groups and {g["kind"] for g in groups} == {"language_model"}


def test_hf_language_models_may_call_token_accuracy_eval_accuracy():
    assert names.names("hf", "language_model", 1, "adamw", "lm_ce")["val_token_acc"] == "eval_accuracy"
    assert names.names("hf", "language_model", 0, "adamw", "lm_ce")["val_token_acc"] == "eval_token_accuracy"


@pytest.fixture
def small_ft():
    """A short character-level fine-tune recipe (torch needed to train it)."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    cfg = next(c for c in (_lm(s) for s in range(80)) if c.get("pretrain_steps") and c["model"] == "gru")
    return {**cfg, "steps": 40, "pretrain_steps": 150, "eval": {"unit": "step", "every": 10}}


def _first_loss(cfg: dict) -> float:
    from corpus import train
    return float(np.mean(train.run(kinds.build(cfg), cfg).train["loss"][:3]))


def test_a_fine_tune_starts_below_the_same_model_from_scratch(small_ft):
    assert _first_loss(small_ft) < 0.8 * _first_loss({**small_ft, "skip_pretrained": True})


def test_a_warm_checkpoint_cache_does_not_change_a_run(small_ft):
    """The pre-training restores torch's global rng: a run built after its checkpoint was
    cached trains exactly as one that pre-trained it (dropout draws included)."""
    from corpus import kinds_seq, train
    cfg = {**small_ft, "arch": {**small_ft["arch"], "dropout": 0.1}}
    kinds_seq._PRETRAINED.clear()
    cold = train.run(kinds.build(cfg), cfg).train["loss"]
    warm = train.run(kinds.build(cfg), cfg).train["loss"]
    assert cold == warm
