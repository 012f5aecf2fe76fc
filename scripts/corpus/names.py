"""Metric names as each logger and habit spells them: role -> tag name per naming style,
with the kind-specific names real code uses (detection parts, GAN D/G losses, RL returns,
perplexity, InfoNCE)."""

from __future__ import annotations

STYLES: dict[str, dict[str, str]] = {
    "slash": {"train_loss": "train/loss", "train_acc": "train/acc", "val_loss": "val/loss", "val_acc": "val/acc",
              "lr": "train/lr", "grad_norm": "train/grad_norm", "epoch": "epoch", "dead_frac": "train/dead_frac",
              "train_reg": "train/reg_loss", "train_data": "train/data_loss", "val_mae": "val/mae",
              "train_ppl": "train/ppl", "val_ppl": "val/ppl", "val_token_acc": "val/token_acc",
              "train_box": "train/box_loss", "train_cls": "train/cls_loss", "train_obj": "train/obj_loss",
              "val_box": "val/box_loss", "val_cls": "val/cls_loss", "val_obj": "val/obj_loss", "val_map50": "metrics/mAP50",
              "loss_D": "train/loss_D", "loss_G": "train/loss_G", "D_x": "train/D_x", "D_G_z": "train/D_G_z",
              "val_swd": "eval/swd", "val_modes": "eval/modes_covered", "episode_reward": "rollout/ep_rew_mean",
              "eval_return": "eval/mean_reward", "entropy": "train/entropy", "q_mean": "train/q_values"},
    "caps": {"train_loss": "Loss/train", "train_acc": "Accuracy/train", "val_loss": "Loss/val", "val_acc": "Accuracy/val",
             "lr": "LearningRate", "grad_norm": "GradNorm", "epoch": "Epoch", "dead_frac": "Activations/zero_frac",
             "train_reg": "Loss/reg", "train_data": "Loss/data", "val_mae": "MAE/val", "train_ppl": "Perplexity/train",
             "val_ppl": "Perplexity/val", "val_token_acc": "TokenAccuracy/val", "train_box": "Loss/box",
             "train_cls": "Loss/cls", "train_obj": "Loss/obj", "val_box": "Loss/val_box", "val_cls": "Loss/val_cls",
             "val_obj": "Loss/val_obj", "val_map50": "mAP50/val", "loss_D": "Loss/D", "loss_G": "Loss/G", "D_x": "D/real",
             "D_G_z": "D/fake", "val_swd": "Eval/SWD", "val_modes": "Eval/Modes", "episode_reward": "Reward/episode",
             "eval_return": "Reward/eval", "entropy": "Policy/entropy", "q_mean": "Q/mean"},
    "lightning": {"train_loss": "train_loss", "train_acc": "train_acc", "val_loss": "val_loss", "val_acc": "val_acc",
                  "lr": "lr-{opt}", "grad_norm": "grad_2.0_norm_total", "epoch": "epoch", "dead_frac": "dead_frac",
                  "train_reg": "reg_loss", "train_data": "data_loss", "val_mae": "val_mae", "train_ppl": "train_ppl",
                  "val_ppl": "val_ppl", "val_token_acc": "val_token_acc", "train_box": "train_box_loss",
                  "train_cls": "train_cls_loss", "train_obj": "train_obj_loss", "val_box": "val_box_loss",
                  "val_cls": "val_cls_loss", "val_obj": "val_obj_loss", "val_map50": "val_map50", "loss_D": "d_loss",
                  "loss_G": "g_loss", "D_x": "d_real", "D_G_z": "d_fake", "val_swd": "val_swd", "val_modes": "val_modes",
                  "episode_reward": "episode_reward", "eval_return": "val_reward", "entropy": "entropy", "q_mean": "q_mean"},
    "hf": {"train_loss": "loss", "val_loss": "eval_loss", "val_acc": "eval_accuracy", "lr": "learning_rate",
           "grad_norm": "grad_norm", "epoch": "epoch", "val_mae": "eval_mae", "val_ppl": "eval_perplexity",
           "train_ppl": "perplexity", "val_token_acc": "eval_token_accuracy", "train_box": "box_loss", "train_cls": "cls_loss",
           "train_obj": "obj_loss", "val_box": "eval_box_loss", "val_cls": "eval_cls_loss", "val_obj": "eval_obj_loss",
           "val_map50": "eval_map50", "train_reg": "reg_loss", "train_data": "data_loss"},
    "keras": {"train_loss": "loss", "train_acc": "accuracy", "val_loss": "val_loss", "val_acc": "val_accuracy",
              "lr": "learning_rate", "val_mae": "val_mae", "train_box": "box_loss", "train_cls": "cls_loss",
              "train_obj": "obj_loss", "val_box": "val_box_loss", "val_cls": "val_cls_loss", "val_obj": "val_obj_loss",
              "val_map50": "val_map50", "train_reg": "reg_loss", "val_ppl": "val_perplexity", "train_ppl": "perplexity",
              "val_token_acc": "val_token_accuracy"},
    "simple": {"train_loss": "loss", "train_acc": "acc", "val_loss": "val_loss", "val_acc": "val_acc", "lr": "lr",
               "grad_norm": "grad_norm", "epoch": "epoch", "dead_frac": "dead_frac", "train_reg": "reg_loss",
               "train_data": "data_loss", "val_mae": "val_mae", "train_ppl": "ppl", "val_ppl": "val_ppl",
               "val_token_acc": "val_token_acc", "train_box": "box_loss", "train_cls": "cls_loss", "train_obj": "obj_loss",
               "val_box": "val_box_loss", "val_cls": "val_cls_loss", "val_obj": "val_obj_loss", "val_map50": "mAP50",
               "loss_D": "loss_D", "loss_G": "loss_G", "D_x": "D_x", "D_G_z": "D_G_z", "val_swd": "swd",
               "val_modes": "modes_covered", "episode_reward": "episode_reward", "eval_return": "eval_return",
               "entropy": "entropy", "q_mean": "q_mean"},
    "d2": {"train_loss": "total_loss", "train_box": "loss_box_reg", "train_cls": "loss_cls", "train_obj": "loss_objectness",
           "lr": "lr", "val_map50": "bbox/AP50", "val_loss": "validation_loss", "train_acc": "fast_rcnn/cls_accuracy",
           "val_acc": "val/accuracy", "grad_norm": "grad_norm", "epoch": "epoch"},
}

KEEP_KEYS_KERAS2 = {"train_acc": "acc", "val_acc": "val_acc", "lr": "lr"}  # Keras 2's short names

# kind-specific renames applied on top of a style (in some runs only: `variant` 1)
KIND_NAMES = {
    ("contrastive", "slash"): {"train_loss": "train/nt_xent_loss", "val_loss": "val/nt_xent_loss", "val_acc": "val/knn_acc"},
    ("contrastive", "simple"): {"train_loss": "infonce_loss", "val_loss": "val_infonce_loss", "val_acc": "knn_acc"},
    ("contrastive", "lightning"): {"train_loss": "train_contrastive_loss", "val_loss": "val_contrastive_loss",
                                   "val_acc": "val_knn_acc"},
    ("language_model", "slash"): {"train_loss": "train/lm_loss", "val_loss": "val/lm_loss"},
    ("language_model", "hf"): {"val_token_acc": "eval_accuracy"},  # run_clm.py's next-token accuracy
    ("regression", "simple"): {"train_loss": "train_mse", "val_loss": "val_mse"},
}


def names(style: str, kind: str, variant: int, opt: str, loss_kind: str) -> dict[str, str]:
    """role -> name for a run; `variant` 1 takes the kind-specific spelling where one exists."""
    out = dict(STYLES[style])
    if variant:
        out.update(KIND_NAMES.get((kind, style), {}))
        if kind == "regression" and style == "simple":
            out.update({"train_loss": f"train_{loss_kind}", "val_loss": f"val_{loss_kind}"})
    for k, v in out.items():
        out[k] = v.replace("{opt}", {"adamw": "AdamW", "adam": "Adam", "rmsprop": "RMSprop"}.get(opt, "SGD"))
    return out
