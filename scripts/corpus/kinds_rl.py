"""Reinforcement learning on tiny numpy environments: REINFORCE on a vectorised CartPole,
DQN on a corridor.  The logged objective is the episode return (higher is better) beside
the policy or TD loss; evaluation runs the greedy policy on separate environments (with
other physics when the run has a distribution shift)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .models import init_weights, mlp
from .train import Task


class CartPole:
    """The classic cart-pole (Barto et al. 1983 dynamics), n copies stepped at once."""

    def __init__(self, n: int, rng: np.random.Generator, pole: float = 0.5, gravity: float = 9.8) -> None:
        self.n, self.rng, self.pole, self.g = n, rng, pole, gravity

    def reset(self) -> np.ndarray:
        self.s = self.rng.uniform(-0.05, 0.05, size=(self.n, 4))
        self.alive = np.ones(self.n, dtype=bool)
        return self.s.astype(np.float32)

    def step(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, xd, th, thd = self.s.T
        f = np.where(a == 1, 10.0, -10.0)
        ct, st = np.cos(th), np.sin(th)
        tmp = (f + 0.05 * thd ** 2 * st) / 1.1
        tha = (self.g * st - ct * tmp) / (self.pole * (4 / 3 - 0.1 * ct ** 2 / 1.1))
        xa = tmp - 0.05 * tha * ct / 1.1
        self.s = np.stack([x + 0.02 * xd, xd + 0.02 * xa, th + 0.02 * thd, thd + 0.02 * tha], 1)
        r = self.alive.astype(np.float32)
        self.alive &= (np.abs(self.s[:, 0]) < 2.4) & (np.abs(self.s[:, 2]) < 0.2095)
        return self.s.astype(np.float32), r


class Corridor:
    """Walk right along `length` cells to the goal (+10); -0.1 per step; at most 4*length steps."""

    def __init__(self, length: int, slip: float = 0.0) -> None:
        self.length, self.slip = length, slip

    def obs(self) -> np.ndarray:
        o = np.zeros(self.length, dtype=np.float32)
        o[self.pos] = 1.0
        return o

    def reset(self) -> np.ndarray:
        self.pos, self.t = 0, 0
        return self.obs()

    def step(self, a: int, rng: np.random.Generator) -> tuple[np.ndarray, float, bool]:
        if rng.random() < self.slip:
            a = 1 - a
        self.pos = min(self.length - 1, self.pos + 1) if a == 1 else max(0, self.pos - 1)
        self.t += 1
        done = self.pos == self.length - 1
        return self.obs(), (10.0 if done else -0.1), done or self.t >= 4 * self.length


class Reinforce(Task):
    """One step = a batch of CartPole episodes and one policy-gradient update with
    normalised returns as advantages and an entropy bonus."""

    higher_is_better = True

    def __init__(self, cfg: dict, rng: np.random.Generator) -> None:
        self.cfg, self.rng = cfg, rng
        self.policy = mlp(4, 2, cfg["arch"])
        init_weights(self.policy, cfg.get("init", "default"), cfg.get("init_scale", 1.0), cfg.get("init_bias", 0.0))
        self.params = list(self.policy.parameters())
        self.env = CartPole(cfg["batch"], rng)
        shift = cfg.get("shift", 0.0)
        self.eval_env = CartPole(4, np.random.default_rng(cfg["seed"] + 3), pole=0.5 * (1 + 3 * shift), gravity=9.8 * (1 + shift))
        self.eval_seed = cfg["seed"] + 3
        self.gen = torch.Generator().manual_seed(cfg["seed"] + 17)
        self.episodes: list[tuple[int, float]] = []
        self.frozen = [p.detach().clone() for p in self.params] if cfg.get("eval_bug") == "frozen" else None
        self.epoch_len = 1

    def probs(self, obs: torch.Tensor) -> torch.Tensor:
        logits = self.policy(obs * self.cfg.get("input_scale", 1.0))
        return torch.softmax(logits, -1)

    def train_step(self, step: int) -> dict[str, float]:
        obs = torch.from_numpy(self.env.reset())
        logps, ents, rews, masks = [], [], [], []
        for _ in range(self.cfg["max_len"]):
            p = self.probs(obs)
            a = torch.multinomial(p, 1, generator=self.gen).squeeze(1)
            pa = p.gather(1, a[:, None]).squeeze(1)
            logps.append(torch.log(pa) if self.cfg.get("naive_loss") else torch.log(pa.clamp_min(1e-8)))
            ents.append(-(p * torch.log(p)).sum(1) if self.cfg.get("naive_loss") else -(p * torch.log(p.clamp_min(1e-8))).sum(1))
            masks.append(torch.from_numpy(self.env.alive.astype(np.float32)))
            o, r = self.env.step(a.numpy())
            rews.append(r)
            obs = torch.from_numpy(o)
            if not self.env.alive.any():
                break
        rew = np.stack(rews) * np.stack([m.numpy() for m in masks])
        ret = np.zeros_like(rew)
        acc = np.zeros(rew.shape[1])
        for t in range(len(rew) - 1, -1, -1):
            acc = rew[t] + 0.99 * acc
            ret[t] = acc
        mask = torch.stack(masks)
        adv = torch.from_numpy(ret)
        if self.cfg.get("baseline", True):
            m = adv[mask > 0]
            adv = (adv - m.mean()) / (m.std() + 1e-8)
        lp, ent = torch.stack(logps), torch.stack(ents)
        loss = -((lp * adv * mask).sum() / mask.sum()) - self.cfg.get("entropy", 0.01) * (ent * mask).sum() / mask.sum()
        self.opts[0].zero_grad(set_to_none=True)
        loss.backward()
        gn = float(torch.nn.utils.clip_grad_norm_(self.params, self.cfg.get("clip") or float("inf")))
        self.opts[0].step()
        episode_return = float(rew.sum(0).mean())
        self.episodes.append((step + 1, episode_return))
        return {"loss": loss.item(), "grad_norm": gn, "episode_reward": episode_return,
                "entropy": ((ent * mask).sum() / mask.sum()).item()}

    def evaluate(self) -> dict[str, float]:
        """Greedy return on 4 evaluation episodes (the initial policy when eval_bug=frozen)."""
        keep = None
        if self.frozen is not None:
            keep = [p.detach().clone() for p in self.params]
            with torch.no_grad():
                for p, q in zip(self.params, self.frozen):
                    p.copy_(q)
        self.eval_env.rng = np.random.default_rng(self.eval_seed)  # the same 4 evaluation episodes every time
        obs, total = torch.from_numpy(self.eval_env.reset()), np.zeros(4)
        with torch.no_grad():
            for _ in range(self.cfg["max_len"]):
                p = self.probs(obs)
                if not torch.isfinite(p).all():
                    break
                o, r = self.eval_env.step(p.argmax(1).numpy())
                total += r * 1.0
                obs = torch.from_numpy(o)
                if not self.eval_env.alive.any():
                    break
            if keep is not None:
                for p, q in zip(self.params, keep):
                    p.copy_(q)
        return {"eval_return": float(total.mean())}

    def info(self) -> dict:
        return {"env": "cartpole", "params": sum(p.numel() for p in self.params)}


class Dqn(Task):
    """One step = one corridor transition and one TD update on a replay minibatch (random
    unless the run is not shuffled: then the most recent transitions); a target network."""

    higher_is_better = True

    def __init__(self, cfg: dict, rng: np.random.Generator) -> None:
        self.cfg, self.rng = cfg, rng
        n = cfg["corridor"]
        self.q = mlp(n, 2, cfg["arch"])
        init_weights(self.q, cfg.get("init", "default"), cfg.get("init_scale", 1.0), cfg.get("init_bias", 0.0))
        self.target = mlp(n, 2, cfg["arch"])
        self.target.load_state_dict(self.q.state_dict())
        self.params = list(self.q.parameters())
        self.env, self.eval_env = Corridor(n), Corridor(n, slip=0.45 * cfg.get("shift", 0.0))
        self.obs = self.env.reset()
        self.buf: list[tuple[np.ndarray, int, float, np.ndarray, bool]] = []
        self.episodes: list[tuple[int, float]] = []
        self.ep_ret = 0.0
        self.frozen = [p.detach().clone() for p in self.params] if cfg.get("eval_bug") == "frozen" else None
        self.epoch_len = 1

    def qvals(self, net: nn.Module, obs: torch.Tensor) -> torch.Tensor:
        return net(obs * self.cfg.get("input_scale", 1.0))

    def act(self, step: int) -> int:
        eps = max(0.05, 1.0 - step / (0.3 * self.cfg["steps"]))
        if self.rng.random() < eps:
            return int(self.rng.integers(0, 2))
        with torch.no_grad():
            return int(self.qvals(self.q, torch.from_numpy(self.obs)[None]).argmax())

    def train_step(self, step: int) -> dict[str, float]:
        a = self.act(step)
        o2, r, done = self.env.step(a, self.rng)
        self.buf.append((self.obs, a, r, o2, done and self.env.pos == self.env.length - 1))
        self.buf = self.buf[-5000:]
        self.ep_ret += r
        self.obs = o2
        if done:
            self.episodes.append((step + 1, self.ep_ret))
            self.obs, self.ep_ret = self.env.reset(), 0.0
        b = min(self.cfg["batch"], len(self.buf))
        idx = self.rng.integers(0, len(self.buf), size=b) if self.cfg.get("shuffle", True) else np.arange(len(self.buf) - b, len(self.buf))
        s, acts, rs, s2, term = (np.array(v) for v in zip(*(self.buf[i] for i in idx)))
        qs = self.qvals(self.q, torch.from_numpy(s)).gather(1, torch.from_numpy(acts)[:, None]).squeeze(1)
        with torch.no_grad():
            nxt = self.qvals(self.target, torch.from_numpy(s2)).max(1).values
            tgt = torch.from_numpy(rs.astype(np.float32)) + self.cfg.get("gamma", 0.95) * nxt * torch.from_numpy(~term)
        loss = nn.functional.smooth_l1_loss(qs, tgt) if self.cfg.get("huber", True) else nn.functional.mse_loss(qs, tgt)
        self.opts[0].zero_grad(set_to_none=True)
        loss.backward()
        gn = float(torch.nn.utils.clip_grad_norm_(self.params, self.cfg.get("clip") or float("inf")))
        self.opts[0].step()
        if (step + 1) % self.cfg.get("target_every", 100) == 0:
            self.target.load_state_dict(self.q.state_dict())
        return {"loss": loss.item(), "grad_norm": gn, "q_mean": qs.mean().item()}

    def evaluate(self) -> dict[str, float]:
        """Greedy return over 3 episodes of the evaluation corridor."""
        net = self.q
        if self.frozen is not None:
            net = mlp(self.cfg["corridor"], 2, self.cfg["arch"])
            with torch.no_grad():
                for p, q in zip(net.parameters(), self.frozen):
                    p.copy_(q)
        rng, total = np.random.default_rng(self.cfg["seed"] + 3), 0.0
        for _ in range(3):
            obs, done = self.eval_env.reset(), False
            while not done:
                with torch.no_grad():
                    q = self.qvals(net, torch.from_numpy(obs)[None])
                a = int(q.argmax()) if torch.isfinite(q).all() else 0
                obs, r, done = self.eval_env.step(a, rng)
                total += r
        return {"eval_return": total / 3}

    def info(self) -> dict:
        return {"env": f"corridor{self.cfg['corridor']}", "params": sum(p.numel() for p in self.params)}
