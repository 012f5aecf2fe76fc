from __future__ import annotations

import pytest

from logsleuth.errors import UsageError
from logsleuth.roles import assign_roles, infer_role, load_overrides, normalise


@pytest.mark.parametrize("name,role,direction", [
    ("loss", "train_loss", "lower"), ("train_loss", "train_loss", "lower"), ("Loss/train", "train_loss", "lower"),
    ("train/loss_step", "train_loss", "lower"), ("reg_prop_pred_loss", "train_loss", "lower"), ("reg_loss_epoch", "train_reg_loss", "lower"),
    ("eval_loss", "val_loss", "lower"), ("val/acc", "val_accuracy", "higher"),
    ("validation_accuracy", "val_accuracy", "higher"), ("top1", "train_accuracy", "higher"),
    ("metrics/mAP50(B)", "val_score", "higher"), ("lr-Adam", "lr", "none"), ("x/lr0", "lr", "none"),
    ("GradNorm/total", "grad_norm", "none"), ("grad_2.0_norm/0.weight", "grad_norm", "none"),
    ("ZeroFraction/layer1", "dead_frac", "none"), ("update_ratio/0", "update_ratio", "none"),
    ("train/reg_loss", "train_reg_loss", "lower"), ("epoch", "epoch", "none"), ("validation/epoch_loss", "val_loss", "lower"),
    ("test_acc", "test_accuracy", "higher"), ("eval_wer", "val_error", "lower"), ("valid ppl", "val_perplexity", "lower"),
    ("eval_samples_per_second", "throughput", "none"), ("hp_metric", "other", "none"), ("cl_fake", "other", "none"),
    ("Accuracy/val", "val_accuracy", "higher"), ("LearningRate", "lr", "none"),
    # a kNN / linear-probe accuracy scores an embedding on held-out data, unless the name says train
    ("knn_acc", "val_accuracy", "higher"), ("linear_probe_acc", "val_accuracy", "higher"),
    ("train/knn_acc", "train_accuracy", "higher"),
    # the Huber and smooth-L1 losses are named after themselves
    ("train_huber", "train_loss", "lower"), ("val/smooth_l1", "val_loss", "lower"),
    # a detector's average precision is computed over an evaluation set unless the name says train
    ("mAP50", "val_score", "higher"), ("bbox/AP50", "val_score", "higher"), ("train/mAP", "train_score", "higher"),
    ("loss_bbox", "train_loss", "lower"), ("heat_map_loss", "train_loss", "lower"),
])
def test_infer_role(name, role, direction):
    r = infer_role(name)
    assert (r.name, r.direction) == (role, direction)


def test_normalise():
    assert normalise("metrics/mAP50(B)") == "metrics_m_ap50_b"
    assert normalise("GradNorm/0") == "grad_norm_0"


def test_overrides_file(tmp_path):
    f = tmp_path / "roles.yaml"
    f.write_text("my_objective: train_loss\n'heldout/*': val_loss\n")
    roles = assign_roles(["my_objective", "heldout/ce", "other"], load_overrides(str(f)))
    assert roles["my_objective"].name == "train_loss" and roles["heldout/ce"].name == "val_loss"


def test_overrides_file_bad_role(tmp_path):
    f = tmp_path / "roles.yaml"
    f.write_text("x: train_lossy\n")
    with pytest.raises(UsageError) as exc:
        load_overrides(str(f))
    assert "train_lossy" in str(exc.value) and str(f) in str(exc.value)


def test_test_split_stands_in_for_validation_when_no_val_is_logged():
    import numpy as np

    from logsleuth.model import Series
    from logsleuth.roles import primary

    def S(name, n=10):
        return Series(name, infer_role(name), np.arange(n, dtype=float), np.ones(n))

    only_test = {"train_loss": S("train_loss"), "test_loss": S("test_loss")}
    assert primary(only_test, "val_loss").metric == "test_loss"
    both = {**only_test, "val_loss": S("val_loss")}
    assert primary(both, "val_loss").metric == "val_loss"
    final_only = {"train_loss": S("train_loss"), "test_loss": S("test_loss", n=1)}
    assert primary(final_only, "val_loss") is None  # a single final test score is not a curve


def test_a_bare_penalty_term_stays_in_training_beside_a_spelled_out_train_loss():
    """Beside "train_loss" a bare "accuracy" is the evaluation's (Lightning's habit), but a bare
    penalty term is not: no evaluation adds weight decay to its loss."""
    roles = assign_roles(["train_loss", "data_loss", "reg_loss", "accuracy"])
    assert roles["reg_loss"].name == "train_reg_loss"
    assert roles["accuracy"].name == "val_accuracy"
    assert assign_roles(["reg_loss", "loss"])["reg_loss"].name == "train_reg_loss"


def test_a_regression_logging_its_objective_by_name_has_it_as_its_loss():
    """A loop that logs no loss but "train_mse" and "val_mse" is trained on that error; beside a
    loss, or with the error only on evaluation (a GAN's FID, a validation-only MAE), errors stay errors."""
    roles = assign_roles(["train_mse", "val_mse", "val_mae", "lr"])
    assert (roles["train_mse"].name, roles["val_mse"].name, roles["val_mae"].name) == ("train_loss", "val_loss", "val_loss")
    assert roles["lr"].name == "lr"
    beside_loss = assign_roles(["loss", "val_loss", "mse", "val_mse"])
    assert beside_loss["mse"].name == "train_error" and beside_loss["val_mse"].name == "val_error"
    assert assign_roles(["val_mae", "epoch"])["val_mae"].name == "val_error"
    assert assign_roles(["g_loss", "d_loss", "train_mse"])["train_mse"].name == "train_error"
    assert assign_roles(["train_wer", "val_wer"])["train_wer"].name == "train_error"  # not an objective
