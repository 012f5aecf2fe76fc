"""The numpy TensorBoard reader returns exactly what tbparse returns for scalars, on files
from several writers, with damage handled like the protobuf reader."""

from __future__ import annotations

import os

import numpy as np
import pytest

from logsleuth.ingest.tbfast import read_tensorboard_fast
from logsleuth.ingest.tensorboard import read_tensorboard, read_with_tbparse

from writers import write_tensorboard


def _norm(t):
    t = t.assign(metric=t.metric.astype(str))
    return t.sort_values(["metric", "step", "wall_time"], kind="stable").reset_index(drop=True)


def _same(a, b):
    a, b = _norm(a), _norm(b)
    assert len(a) == len(b)
    assert list(a.metric) == list(b.metric)
    assert np.array_equal(a.step.to_numpy(), b.step.to_numpy())
    assert np.allclose(a.value.to_numpy(), b.value.to_numpy(), equal_nan=True, rtol=0, atol=0)
    assert np.allclose(a.wall_time.to_numpy(), b.wall_time.to_numpy(), rtol=0, atol=1e-6)


def _files(d):
    return [os.path.join(d, f) for f in sorted(os.listdir(d))]


def _scalars(seed, n=300):
    rng = np.random.default_rng(seed)
    st = np.arange(n, dtype=float) * 3
    v = rng.normal(0, 1, n) * 10.0 ** rng.integers(-30, 30, n)
    v[::37] = np.nan
    v[5] = np.inf
    v[6] = -np.inf
    return {"loss": (st, v), "Loss/train": (st[::2], np.abs(v[::2])), "ünïcode/täg": (st[:10], np.arange(10.0)),
            "deep/a/b/c": (st[::50], np.zeros(len(st[::50])))}


@pytest.mark.parametrize("tf2", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_tbparse(tmp_path, tf2, seed):
    d = write_tensorboard(str(tmp_path), _scalars(seed), tf2=tf2, hparams={"lr": 0.1, "opt": "adam"})
    for f in _files(d):
        fast = read_tensorboard_fast(f)
        _same(fast.table, read_with_tbparse(f).table)
        assert fast.hparams == {"lr": 0.1, "opt": "adam"}


def test_tensorboardx_writer_with_images_and_histograms(tmp_path):
    tbx = pytest.importorskip("tensorboardX")
    w = tbx.SummaryWriter(str(tmp_path))
    rng = np.random.default_rng(0)
    for s in range(200):
        w.add_scalar("train/loss", float(np.exp(-s / 50)), s)
        w.add_scalars("grouped", {"a": s * 0.5, "b": -s}, s)
        if s % 50 == 0:
            w.add_histogram("weights", rng.normal(size=100), s)
            w.add_image("img", rng.random((3, 8, 8)), s)
            w.add_text("note", f"step {s}", s)
    w.close()
    for root, _dirs, files in os.walk(tmp_path):
        for f in files:
            p = os.path.join(root, f)
            _same(read_tensorboard_fast(p).table, read_with_tbparse(p).table)


def test_damage_is_handled_like_the_protobuf_reader(tmp_path):
    d = write_tensorboard(str(tmp_path), _scalars(3))
    f = _files(d)[0]
    data = bytearray(open(f, "rb").read())
    data[len(data) // 3] ^= 0x5A
    data[2 * len(data) // 3 + 1] ^= 0xFF
    open(f, "wb").write(bytes(data[:-5]))
    fast, slow = read_tensorboard_fast(f), read_tensorboard(f)
    _same(fast.table, slow.table)
    assert len(fast.warnings) == len(slow.warnings) >= 2
    assert all("byte" in w for w in fast.warnings)


def test_empty_and_garbage_files(tmp_path):
    p = tmp_path / "events.out.tfevents.1.x"
    p.write_bytes(b"")
    assert read_tensorboard_fast(str(p)).table.empty
    p.write_bytes(os.urandom(5000))
    res = read_tensorboard_fast(str(p))
    assert res.table.empty and res.warnings


def _corpus_event_files():
    from conftest import FAULT_CORPUS, REAL_LOGS

    out = []
    for root in (FAULT_CORPUS, REAL_LOGS):
        for dirpath, _dirs, names in os.walk(root):
            out += [os.path.join(dirpath, n) for n in sorted(names) if "tfevents" in n]
    return sorted(out)


@pytest.mark.parametrize("path", _corpus_event_files(), ids=os.path.basename)
def test_matches_tbparse_on_every_corpus_event_file(path):
    """Real writers: TF1/TF2 Keras, Lightning, and torch.utils.tensorboard's SummaryWriter
    (YOLOv5 in real_logs/tensorboard/r40 and r41, RETFound/MAE in r37)."""
    _same(read_tensorboard_fast(path).table, read_with_tbparse(path).table)


def _record(payload: bytes) -> bytes:
    from logsleuth.ingest.tensorboard import masked_crc

    head = len(payload).to_bytes(8, "little")
    return head + masked_crc(head).to_bytes(4, "little") + payload + masked_crc(payload).to_bytes(4, "little")


def _event(step: int, tag: str, value: float) -> bytes:
    """A TF1 scalar Event, encoded by hand: wall_time, step, summary { value { tag, simple_value } }."""
    import struct

    from writers import _pb_varint as varint

    t = tag.encode()
    val = b"\x0a" + varint(len(t)) + t + b"\x15" + struct.pack("<f", value)
    summ = b"\x0a" + varint(len(val)) + val
    return b"\x09" + struct.pack("<d", 1.7e9 + step) + b"\x10" + varint(step) + b"\x2a" + varint(len(summ)) + summ


def test_every_header_is_found_whatever_its_crc_starts_with(tmp_path):
    """The vectorised framing takes one candidate per record (length bytes 4-7 zero, first CRC
    byte not); a header whose CRC begins with a zero byte (1 in 256) is found by the chain walk."""
    from logsleuth.ingest import tbframe
    from logsleuth.ingest.tensorboard import masked_crc

    base = len(_event(1, "", 0.5))
    zero = [n for n in range(base, base + 2000) if masked_crc(n.to_bytes(8, "little")) & 0xFF == 0][:3]
    assert zero
    recs = [_record(b"\x09" + bytes(8))]  # a first record that is an Event with nothing but a wall time
    for s in range(300):
        tag = "x" * ((zero[s % len(zero)] - base) if s % 7 == 0 else 5 + s % 11)
        recs.append(_record(_event(s, tag, 1.0 / (s + 1))))
    f = tmp_path / "events.out.tfevents.1.handmade"
    f.write_bytes(b"".join(recs))
    buf = np.fromfile(f, np.uint8)
    off, _, status = tbframe.frame(buf)
    assert len(off) == len(recs) and (status == tbframe.OK).all()
    assert any(buf[o - 4] == 0 for o in off), "a header whose CRC starts with a zero byte is in the file"
    res = read_tensorboard_fast(str(f))
    _same(res.table, read_tensorboard(str(f)).table)
    assert len(res.table) == 300 and not res.warnings


def test_a_valid_looking_header_inside_a_payload_does_not_derail_the_framing(tmp_path):
    """A text summary whose bytes contain a whole framed record (length, its CRC, payload, CRC):
    the chain follows the outer record's length, as the protobuf reader does."""
    tbx = pytest.importorskip("tensorboardX")
    inner = _record(b"\x09" + b"\x00" * 8 + b"\x10\x05")
    w = tbx.SummaryWriter(str(tmp_path))
    for s in range(100):
        w.add_scalar("loss", 1.0 / (s + 1), s)
        if s % 10 == 0:
            w.add_text("blob", inner.decode("latin-1"), s)
    w.close()
    for f in _files(str(tmp_path)):
        _same(read_tensorboard_fast(f).table, read_with_tbparse(f).table)


def test_the_file_is_never_written_and_nothing_is_cached_beside_the_module(tmp_path):
    import logsleuth.ingest.tbfast as tbfast

    d = write_tensorboard(str(tmp_path), _scalars(4))
    f = _files(d)[0]
    before = os.stat(f).st_mtime_ns, open(f, "rb").read()
    pkg = os.path.dirname(tbfast.__file__)
    listing = sorted(os.listdir(pkg))
    read_tensorboard_fast(f)
    assert (os.stat(f).st_mtime_ns, open(f, "rb").read()) == before
    assert sorted(os.listdir(pkg)) == listing


def test_runs_of_equal_length_records_frame_as_the_general_scan_does(tmp_path, monkeypatch):
    """One writer's scalars come in long runs of equal-length records, framed a run at a time
    without scanning every byte; intact, with a bad payload, a bad length or a cut tail, the
    records and statuses are those of the general framing."""
    from logsleuth.ingest import tbframe

    recs = [_record(_event(s, "loss" if s % 1000 else "lr", 1.0 / (s + 1))) for s in range(20_000)]
    whole = b"".join(recs)
    bad_payload = bytearray(whole)
    bad_payload[sum(len(r) for r in recs[:10_000]) + 12 + 3] ^= 0x40  # in record 10,000's wall time
    at = sum(len(r) for r in recs[:7_000])
    bad_length = bytearray(whole)
    bad_length[at + 2] ^= 0x01
    cases = {"intact": (whole, True), "bad payload": (bytes(bad_payload), True), "bad length": (bytes(bad_length), False),
             "cut tail": (whole[:-7], False)}
    for label, (data, walked) in cases.items():
        buf = np.frombuffer(data, np.uint8)
        assert (tbframe._equal_length_runs(buf) is not None) == walked, label
        fast = tbframe.frame(buf)
        with monkeypatch.context() as m:
            m.setattr(tbframe, "_equal_length_runs", lambda b: None)
            general = tbframe.frame(buf)
        for a, b in zip(fast, general):
            assert np.array_equal(a, b), label
    assert (tbframe.frame(np.frombuffer(bytes(bad_payload), np.uint8))[2] == tbframe.BAD_DATA_CRC).sum() == 1


def test_short_runs_go_to_the_general_framing(tmp_path):
    """Lengths that change every few records: the run walk gives up early (no quadratic probing)."""
    from logsleuth.ingest import tbframe

    data = b"".join(_record(_event(s, "t" * (1 + s % 5), 0.5)) for s in range(5_000))
    assert tbframe._equal_length_runs(np.frombuffer(data, np.uint8)) is None


def test_blockwise_checks_and_decoding_give_the_same_table(tmp_path, monkeypatch):
    """CRCs, the fixed-layout decoding and tag ids go a block of records at a time; with blocks
    of 997 records, a file of 5,000 (two tags of one length, a bad payload, steps of 1-3 byte
    varints) reads as the protobuf reader reads it."""
    from logsleuth.ingest import tbfast, tbframe, tbproto

    recs = [_record(_event(s * 7, "loss_a" if (s // 1500) % 2 else "loss_b", 1.0 / (s + 1))) for s in range(5_000)]
    data = bytearray(b"".join(recs))
    data[sum(len(r) for r in recs[:3210]) + 12 + 2] ^= 0x10  # record 3210's wall time: a payload CRC mismatch
    f = tmp_path / "events.out.tfevents.1.blocks"
    f.write_bytes(bytes(data))
    for mod in (tbframe, tbproto, tbfast):  # each module that works a block at a time
        monkeypatch.setattr(mod, "BLOCK", 997)
    # decoded 1,031 records at a time, a tag first seen in a later chunk, the file's pages
    # released after every block (bounded memory on 10M events, issue 29)
    for mod in (tbframe, tbfast):
        monkeypatch.setattr(mod, "DECODE_RECORDS", 1031)
    monkeypatch.setattr(tbframe, "RELEASE_BLOCKS", 1)
    fast, slow = read_tensorboard_fast(str(f)), read_tensorboard(str(f))
    _same(fast.table, slow.table)
    assert len(fast.table) == 4_999 and set(fast.table.metric.astype(str)) == {"loss_a", "loss_b"}
    assert len(fast.warnings) == len(slow.warnings) == 1
