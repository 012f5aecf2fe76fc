"""Stable-Baselines3 / baselines Monitor files (ingest.monitorcsv): the episode reward on the
environment timesteps, several workers' files one run merged in time, a malformed row a warning
naming file and line, and CSVs that only look alike left to the CSV reader."""

from __future__ import annotations

import pytest

from logsleuth.ingest import discover, load_run
from logsleuth.ingest.discover import classify
from logsleuth.roles import infer_role


def _series(table, name):
    g = table[table.metric == name]
    return list(g.step), list(g.value)


def _monitor(t_start, episodes, space=False, extra=""):
    """A Monitor file: its JSON comment line, its header, one `r,l,t` row per episode."""
    head = ("# " if space else "#") + f'{{"t_start": {t_start}, "env_id": "CartPole-v1"}}'
    cols = "r,l,t" + (f",{extra}" if extra else "")
    return "\n".join([head, cols] + [",".join(map(str, e)) for e in episodes]) + "\n"


def test_one_monitor_file_reward_on_cumulative_timesteps(write):
    p = write("ppo/0.monitor.csv", _monitor(1000.0, [(10.0, 10, 0.5), (25.5, 25, 1.2), (40.0, 40, 2.0)], space=True))
    assert classify(p) == "monitor"
    runs = discover([p.rsplit("/", 1)[0]]).runs
    assert [r.name.rsplit("/", 1)[-1] for r in runs] == ["ppo"]
    run = load_run(runs[0])
    assert run.formats == ("sb3_monitor",)
    assert _series(run.table, "episode_reward") == ([10, 35, 75], [10.0, 25.5, 40.0])
    assert _series(run.table, "episode_length") == ([10, 35, 75], [10, 25, 40])
    assert list(run.table[run.table.metric == "episode_reward"].wall_time) == [1000.5, 1001.2, 1002.0]
    assert infer_role("episode_reward").kind == "reward"


def test_worker_files_are_one_run_merged_by_wall_time(write):
    # worker 1 started 1 s later: its first episode ends between worker 0's two
    p0 = write("ppo/0.monitor.csv", _monitor(1000.0, [(1.0, 10, 0.5), (3.0, 30, 3.0)]))
    write("ppo/1.monitor.csv", _monitor(1001.0, [(2.0, 20, 0.6), (4.0, 40, 2.5)]))
    write("ppo/progress.csv", "time/total_timesteps,rollout/ep_rew_mean\n64,2.0\n128,3.0\n")
    runs = {r.name.rsplit("/", 1)[-1]: r for r in discover([p0.rsplit("/", 1)[0]]).runs}
    assert set(runs) == {"monitor", "progress"}
    assert [f.kind for f in runs["monitor"].files] == ["monitor", "monitor"]
    run = load_run(runs["monitor"])
    # in the order the episodes ended: 1000.5 (w0), 1001.6 (w1), 1003.0 (w0), 1003.5 (w1)
    assert _series(run.table, "episode_reward") == ([10, 30, 60, 100], [1.0, 2.0, 3.0, 4.0])


def test_extra_info_columns_and_an_appended_session(write):
    text = _monitor(1000.0, [(1.0, 10, 0.5, "True"), (2.0, 10, 1.0, "False")], extra="is_success")
    text += _monitor(2000.0, [(3.0, 10, 0.5, "True")], extra="is_success")
    p = write("a/monitor.csv", text)
    run = load_run(discover([p]).runs[0])
    assert _series(run.table, "is_success") == ([10, 20, 30], [1.0, 0.0, 1.0])
    assert not run.segments
    assert any(w.startswith(f"{p}:5: a second") for w in run.warnings), run.warnings


def test_malformed_row_warns_naming_file_and_line(write):
    p = write("a/monitor.csv", _monitor(1000.0, [(1.0, 10, 0.5), ("oops", 10, 0.7), (2.0, 10), (3.0, 10, 0.9)]))
    run = load_run(discover([p]).runs[0])
    assert any(w.startswith(f"{p}:4: 2 episode row(s)") and "line 4, 5" in w for w in run.warnings), run.warnings
    assert _series(run.table, "episode_reward") == ([10, 20], [1.0, 3.0])


def test_a_header_without_r_l_t_is_an_error_naming_the_file(write):
    p = write("a/monitor.csv", '#{"t_start": 1.0}\nreward,length\n1,2\n3,4\n')
    assert classify(p) == "csv"  # the head says it is not a Monitor file
    from logsleuth.errors import InputError
    from logsleuth.ingest.monitorcsv import read_monitor

    with pytest.raises(InputError, match=r"monitor.csv:2: a Monitor header without the columns r, l, t"):
        read_monitor([p])


def test_a_plain_csv_with_an_r_column_is_not_a_monitor_file(write):
    p = write("b/monitor.csv", "r,l,t\n1.0,10,0.5\n2.0,20,1.0\n3.0,30,1.5\n")
    assert classify(p) == "csv"
    q = write("c/results.csv", '#{"t_start": 1.0}\nr,l,t\n1.0,10,0.5\n2.0,20,1.0\n')
    assert classify(q) == "csv"  # not a name a Monitor writes
    run = load_run(discover([p]).runs[0])
    assert run.formats == ("csv",)
