"""Tar shards in WebDataset's layout: ``write_shards``, and ``TarShards``, a stream split by rank and worker.

Layout (what ``webdataset`` reads too): a shard is a plain tar; a sample is a
run of consecutive members sharing a key (the member name up to the first dot
of its basename): ``{key}.jpg`` (the image, its file's own bytes and
extension) and ``{key}.cls`` (the label, decimal text). ``write_shards`` names
the keys by the zero-padded dataset index and writes ``{prefix}-index.json``
with every shard's name and sample count.

Global ids: a sample's id is the number of samples in the shards before its
own (in the given or index order) plus its position in its shard. It keys the
sample's augmentation (crop-aware decoding draws ``epoch * num_samples + id``,
as ``ImageFiles`` does), and it does not depend on the rank, the worker or the
shuffle. Without an index the shards' tar headers are scanned once, at
construction (the data is seeked over), to count their samples.

Split (each sample once per epoch over all ranks x workers): shards are dealt
round-robin to the ranks, in the epoch's shard order, then a rank's shards to
its DataLoader workers. A level with fewer shards than parts (ranks, or a
rank's workers) falls back, with a warning, to sample granularity: every part
reads all of those shards and keeps every n-th sample of their stream
(balanced, but every part reads all the bytes).
"""
import glob
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import random
import re
import tarfile
import warnings
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch.utils.data import IterableDataset, get_worker_info

from .batch import Skipped
from .crop_plan import CropPlan
from .datasets import IMG_EXTENSIONS, _read, checked_crop_plan, decode_item, skip_item
from .decode import DecodeError, resolve_decoder

INDEX_SUFFIX = "-index.json"
IMAGE_EXTS = frozenset(e.lstrip(".") for e in IMG_EXTENSIONS)
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")  # gzip, bzip2, xz: read through, not scanned for junk


def split_name(name: str) -> Tuple[str, str]:
    """WebDataset's ``(key, extension)`` of a member name: the extension starts at the basename's first dot."""
    head, _, base = name.rpartition("/")
    stem, _, ext = base.partition(".")
    return (f"{head}/{stem}" if head else stem), ext


def _hash(*parts) -> int:
    """A 64-bit integer that is a pure function of ``parts`` (every Python, every platform)."""
    text = ":".join(str(int(p)) if not isinstance(p, str) else p for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


# ----------------------------------------------------------------------------- writing

def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)  # mtime 0, uid 0, no user names: the same bytes for the same input
    info.size, info.mode = len(data), 0o444
    tar.addfile(info, io.BytesIO(data))


def write_shards(dataset, out_dir, *, samples_per_shard: int = 1000, prefix: str = "shard") -> List[str]:
    """Writes a dataset of files as tar shards in WebDataset's layout, plus an index.

    The files' bytes are copied as they are (no re-encode). Sample ``i`` becomes
    ``{key}.{ext}`` and ``{key}.cls`` with ``key`` = ``i`` zero-padded (at least 6
    digits) and ``ext`` the file's extension in lower case; shard ``k`` is
    ``{prefix}-{k:06d}.tar``; ``{prefix}-index.json`` lists the shards and their
    sample counts (and the dataset's ``classes`` when it has them). Shards of an
    earlier, longer write with the same prefix are removed.

    Args:
        dataset: an ``ImageFiles`` / ``ImageFolder`` (anything with ``paths`` and ``labels``).
        out_dir: the directory to write to (created if needed).
        samples_per_shard: samples per shard (the last one may hold fewer).
        prefix: the shards' name prefix (no path separator).

    Returns:
        The shards' paths, in order (the index is ``{out_dir}/{prefix}-index.json``).

    Example:
        >>> write_shards(ImageFolder("train/"), "shards/", samples_per_shard=1000)
        >>> ds = TarShards("shards/shard-index.json", shuffle=True)
    """
    paths, labels = getattr(dataset, "paths", None), getattr(dataset, "labels", None)
    if paths is None or labels is None:
        raise TypeError(f"dataset: expected an ImageFiles / ImageFolder (with paths and labels), "
                        f"got {type(dataset).__name__}")
    if not isinstance(samples_per_shard, int) or isinstance(samples_per_shard, bool) or samples_per_shard < 1:
        raise ValueError(f"samples_per_shard: expected an int >= 1, got {samples_per_shard!r}")
    if not isinstance(prefix, str) or not prefix or "/" in prefix or os.sep in prefix:
        raise ValueError(f"prefix: expected a non-empty file name prefix, got {prefix!r}")
    n = len(paths)
    if n == 0:
        raise ValueError("dataset: no samples to write")
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    width = max(6, len(str(n - 1)))
    written, entries = [], []
    for k, start in enumerate(range(0, n, samples_per_shard)):
        name = f"{prefix}-{k:06d}.tar"
        path = os.path.join(out_dir, name)
        stop = min(n, start + samples_per_shard)
        try:
            with tarfile.open(path + ".tmp", "w", format=tarfile.USTAR_FORMAT) as tar:
                for i in range(start, stop):
                    ext = os.path.splitext(paths[i])[1].lstrip(".").lower()
                    if not ext:
                        raise ValueError(f"dataset: {paths[i]!r} has no extension (the shard member needs one)")
                    _add(tar, f"{i:0{width}d}.{ext}", _read(paths[i]))
                    _add(tar, f"{i:0{width}d}.cls", str(int(labels[i])).encode())
        except BaseException:
            os.remove(path + ".tmp")
            raise
        os.replace(path + ".tmp", path)
        written.append(path)
        entries.append({"name": name, "count": stop - start})
    stale = re.compile(re.escape(prefix) + r"-(\d{6})\.tar")
    for entry in os.listdir(out_dir):
        m = stale.fullmatch(entry)
        if m and int(m.group(1)) >= len(written):
            os.remove(os.path.join(out_dir, entry))
    index = {"format": "webdataset", "num_samples": n, "shards": entries}
    if getattr(dataset, "classes", None) is not None:
        index["classes"] = list(dataset.classes)
    index_path = os.path.join(out_dir, prefix + INDEX_SUFFIX)
    with open(index_path + ".tmp", "w") as f:
        json.dump(index, f, indent=1)
    os.replace(index_path + ".tmp", index_path)
    return written


# ----------------------------------------------------------------------------- reading

def _load_index(path: str):
    try:
        with open(path) as f:
            index = json.load(f)
        entries = index["shards"]
        base = os.path.dirname(os.path.abspath(path))
        paths = [os.path.join(base, e["name"]) for e in entries]
        counts = [int(e["count"]) for e in entries]
    except OSError as e:
        raise FileNotFoundError(f"shards: cannot read the index {path!r} ({e.strerror or e})") from e
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"shards: {path!r} is not a shard index (expected {{'shards': [{{'name', 'count'}}]}}): "
                         f"{type(e).__name__}: {e}") from e
    if any(c < 0 for c in counts):
        raise ValueError(f"shards: {path!r} has a negative sample count")
    return paths, counts, index.get("classes")


def _resolve(shards):
    """``shards`` -> (paths, counts from an index or None, classes or None)."""
    if isinstance(shards, (str, os.PathLike)):
        spec = os.fspath(shards)
        if spec.endswith(".json"):
            return _load_index(spec)
        if os.path.isdir(spec):
            indexes = sorted(glob.glob(os.path.join(glob.escape(spec), "*" + INDEX_SUFFIX)))
            if len(indexes) == 1:
                return _load_index(indexes[0])
            if len(indexes) > 1:
                raise ValueError(f"shards: {spec!r} holds several indexes ({[os.path.basename(p) for p in indexes]}): "
                                 "pass one of them")
            paths = sorted(p for ext in ("*.tar", "*.tar.gz", "*.tgz")
                           for p in glob.glob(os.path.join(glob.escape(spec), ext)))
            if not paths:
                raise FileNotFoundError(f"shards: no .tar files in {spec!r}")
            return paths, None, None
        if glob.has_magic(spec):
            paths = sorted(glob.glob(spec))
            if not paths:
                raise FileNotFoundError(f"shards: no file matches {spec!r}")
            return paths, None, None
        return [spec], None, None
    if isinstance(shards, Sequence) and not isinstance(shards, bytes) and len(shards) > 0:
        return [os.fspath(p) for p in shards], None, None
    raise TypeError(f"shards: expected a non-empty list of tar paths, a glob, a directory or an index json, "
                    f"got {shards!r}")


def _open(path: str) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:*")
    except OSError as e:
        raise DecodeError(f"{path}: cannot read the shard ({e.strerror or e})") from e
    except (tarfile.TarError, EOFError) as e:
        raise DecodeError(f"{path}: not a readable tar file ({type(e).__name__}: {e})") from e


def scan_shard(path: str) -> int:
    """The number of samples in a shard, from its tar headers alone (the members' data is seeked over).

    Raises :class:`DecodeError` naming the shard when it is missing, not a tar, or
    truncated or corrupt (tarfile ends a listing silently at a bad or missing
    header: the bytes after the last member must be the end-of-archive zeros).
    """
    count, key, last = 0, None, "(none)"
    try:
        with _open(path) as tar:
            for member in tar:
                if member.isfile():
                    k = split_name(member.name)[0]
                    count, key, last = count + (k != key), k, member.name
            end = tar.offset
    except DecodeError:
        raise
    except Exception as e:  # noqa: BLE001  (tarfile, gzip, zlib, lzma errors alike)
        raise DecodeError(f"{path}: cannot list the shard after member {last} ({type(e).__name__}: {e})") from e
    with open(path, "rb") as f:
        if f.read(6).startswith(_COMPRESSED):
            return count
        size = os.fstat(f.fileno()).st_size
        if end > size:
            raise DecodeError(f"{path}: truncated: the data of member {last} runs past the end of the file")
        if end + 512 > size:  # POSIX ends an archive with two zero blocks; at least one must be there
            raise DecodeError(f"{path}: truncated: no end-of-archive block after member {last}")
        f.seek(end)
        while True:
            chunk = f.read(1 << 16)
            if not chunk:
                return count
            if chunk.strip(b"\0"):
                raise DecodeError(f"{path}: corrupt tar header at byte {end}, after member {last}")


def _samples(path: str, want, expected: int):
    """``(position, key, {ext: (member name, bytes)})`` per sample of a shard, in order.

    Only samples with ``want(position)`` have their data read (the dict is None for
    the others). Raises :class:`DecodeError` naming the shard and the member at fault,
    and when the shard does not hold ``expected`` samples.
    """
    pos, key, group, current = -1, None, None, "(the header)"
    with _open(path) as tar:
        try:
            for member in tar:
                if not member.isfile():
                    continue
                current = member.name
                k, ext = split_name(member.name)
                if k != key:
                    if key is not None:
                        yield pos, key, group
                    pos, key = pos + 1, k
                    if pos >= expected:
                        raise DecodeError(f"{path}: more than the {expected} samples its index entry or scan "
                                          f"counted (member {current}): ids would overlap the next shard's")
                    group = {} if want(pos) else None
                if group is not None and ext.lower() not in group:
                    group[ext.lower()] = (member.name, tar.extractfile(member).read())
        except DecodeError:
            raise
        except Exception as e:  # noqa: BLE001
            raise DecodeError(f"{path}:{current}: cannot read the member ({type(e).__name__}: {e})") from e
    if key is not None:
        yield pos, key, group
    if pos + 1 != expected:
        raise DecodeError(f"{path}: {pos + 1} samples where {expected} were counted: the shard is truncated or "
                          f"corrupt after member {current}")


def _record(path: str, key: str, group: Dict[str, Tuple[str, bytes]], gid: int):
    """(name, image bytes, label, global id) of a sample; a label defaults to 0 without a ``.cls``."""
    image = next(((name, data) for ext, (name, data) in group.items() if ext in IMAGE_EXTS), None)
    if image is None:
        raise DecodeError(f"{path}:{key}: no image member (members: {', '.join(n for n, _ in group.values())})")
    label = 0
    if "cls" in group:
        name, data = group["cls"]
        try:
            label = int(data.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError) as e:
            raise DecodeError(f"{path}:{name}: the label is not a decimal integer ({data[:32]!r})") from e
    return f"{path}:{image[0]}", image[1], label, gid


def _buffer_shuffle(items: Iterator, size: int, rng: random.Random):
    """WebDataset's shuffle buffer: each item out is a uniform draw from the last ``size`` in."""
    buf = []
    for item in items:
        buf.append(item)
        if len(buf) >= size:
            k = rng.randrange(len(buf))
            buf[k], buf[-1] = buf[-1], buf[k]
            yield buf.pop()
    rng.shuffle(buf)
    yield from buf


class _Part(NamedTuple):
    """A shard one worker reads: the samples at positions p with (base + p) % modulus == residue."""

    shard: int
    base: int
    modulus: int
    residue: int


class TarShards(IterableDataset):
    """Images streamed from tar shards (WebDataset layout), split by rank and DataLoader worker.

    Items are those of ``ImageFiles``, keyed by the sample's global id:
    ``(image, label, id)``, crop-aware ``(window, label, id, geometry)``, or with
    ``decode="gpu"`` the file's bytes; ``collate`` and ``DeviceLoader`` take them
    as they are.

    Args:
        shards: a list of tar paths, a glob pattern, a directory (its one
            ``*-index.json``, else its sorted ``.tar`` files) or an index json
            (``write_shards``'), whose order and counts then fix the ids.
        decode: ``"cpu"`` or ``"gpu"`` (as ``ImageFiles``).
        decoder: the CPU decoder; None picks the fastest installed one.
        on_error: ``"raise"``: a missing shard, a corrupt member or an undecodable
            image raises :class:`DecodeError` naming the shard and the member;
            ``"skip"``: they are dropped, counted in ``num_skipped`` and warned of.
        shuffle: shuffle the shard order (a pure function of ``(seed, epoch)``, the
            same on every rank, before the split) and the samples through a buffer
            of ``shuffle_buffer`` encoded samples per worker.
        seed: the shuffle's seed.
        shuffle_buffer: encoded samples held per worker to shuffle (1: shards only).
        rank, world_size: this process's part of the split (they win over
            torch.distributed's, as ``DistributedSampler``'s do). None: the process
            group's when it is initialized (read in the main process), else one rank.

    The order is a function of (seed, epoch, rank, world size, worker, workers).
    ``len()`` is the number of samples this rank yields in the current epoch.

    Example:
        >>> ds = TarShards("shards/shard-index.json", shuffle=True)
        >>> dl = DataLoader(ds, batch_size=64, num_workers=4, collate_fn=collate)
        >>> loader = DeviceLoader(dl, TwoViews(simclr_view()))
    """

    def __init__(self, shards, *, decode: str = "cpu", decoder: Optional[str] = None, on_error: str = "raise",
                 shuffle: bool = False, seed: int = 0, shuffle_buffer: int = 1000,
                 rank: Optional[int] = None, world_size: Optional[int] = None):
        if decode not in ("cpu", "gpu"):
            raise ValueError(f"decode: expected 'cpu' or 'gpu', got {decode!r}")
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error: expected 'raise' or 'skip', got {on_error!r}")
        if not isinstance(shuffle_buffer, int) or shuffle_buffer < 1:
            raise ValueError(f"shuffle_buffer: expected an int >= 1, got {shuffle_buffer!r}")
        if (rank is None) != (world_size is None):
            raise ValueError("rank, world_size: pass both or neither")
        if world_size is not None and not (int(world_size) >= 1 and 0 <= int(rank) < int(world_size)):
            raise ValueError(f"rank, world_size: expected 0 <= rank < world_size, got {rank}, {world_size}")
        paths, counts, self.classes = _resolve(shards)
        self.shards: List[str] = paths
        self.counts: List[int] = counts if counts is not None else [scan_shard(p) for p in paths]
        self.offsets: List[int] = [0, *itertools.accumulate(self.counts)][:-1]
        self.num_samples = sum(self.counts)
        if self.num_samples == 0:
            raise ValueError(f"shards: no samples in {len(paths)} shard(s)")
        self.decode, self.on_error = decode, on_error
        self.decoder = resolve_decoder(decoder)
        self.shuffle, self.seed, self.shuffle_buffer = bool(shuffle), int(seed), shuffle_buffer
        self._explicit = (int(rank), int(world_size)) if rank is not None else None
        self._dist: Optional[Tuple[int, int]] = None
        self._warned = False
        self.crop_plan: Optional[CropPlan] = None
        ctx = multiprocessing.get_context()
        # shared with the DataLoader's worker processes, persistent ones included
        self._epoch = ctx.Value("q", 0)
        self._skipped = ctx.Value("q", 0)
        self._rank_world()

    # ------------------------------------------------------------------ configuration

    def _rank_world(self) -> Tuple[int, int]:
        rank_world = self._explicit
        if rank_world is None:
            dist = torch.distributed
            if get_worker_info() is None and dist.is_available() and dist.is_initialized():
                self._dist = (dist.get_rank(), dist.get_world_size())
            rank_world = self._dist or (0, 1)
        if len(self.shards) < rank_world[1] and not self._warned:
            self._warned = True  # once, in the process that builds the dataset (its workers inherit the flag)
            warnings.warn(f"TarShards: {len(self.shards)} shards for {rank_world[1]} ranks: every rank reads every "
                          f"shard and keeps every {rank_world[1]}th sample (write at least ranks x workers shards)",
                          stacklevel=3)
        return rank_world

    @property
    def epoch(self) -> int:
        return int(self._epoch.value)

    @epoch.setter
    def epoch(self, value: int) -> None:
        self._epoch.value = int(value)

    def set_epoch(self, epoch: int) -> None:
        """The epoch of the next iteration: its shard order and the crop plan's sample ids."""
        self.epoch = epoch
        self._rank_world()

    @property
    def num_skipped(self) -> int:
        """How many samples ``on_error="skip"`` has dropped so far (all workers together)."""
        return int(self._skipped.value)

    def set_crop_plan(self, plan: Optional[CropPlan]) -> None:
        """Turns crop-aware decoding on (a plan) or off (None); ``DeviceLoader`` calls it."""
        self.crop_plan = checked_crop_plan(plan, self.decode)

    def sample_id(self, global_id: int) -> int:
        return self.epoch * self.num_samples + global_id

    # ------------------------------------------------------------------ the split

    def shard_order(self, epoch: int) -> List[int]:
        """The epoch's shard order (indices into ``shards``): a pure function of (seed, epoch)."""
        order = list(range(len(self.shards)))
        if self.shuffle:
            order.sort(key=lambda s: _hash("shards", self.seed, epoch, s))
        return order

    def _parts(self, epoch: int, rank: int, world: int, worker: int, workers: int) -> List[_Part]:
        order = self.shard_order(epoch)
        starts: Dict[int, int] = {}
        if len(order) >= world:  # shard granularity: the rank's own stream
            mine, modulus, residue = order[rank::world], 1, 0
        else:  # sample granularity (warned of by _rank_world)
            mine, modulus, residue = order, world, rank
        base = 0
        for s in mine:
            starts[s], base = base, base + self.counts[s]
        if len(mine) >= workers:
            return [_Part(s, starts[s], modulus, residue) for s in mine[worker::workers]]
        warnings.warn(f"TarShards: rank {rank} has {len(mine)} shards for {workers} workers: each worker reads "
                      f"all of them and keeps every {workers}th sample (write at least ranks x workers shards)",
                      stacklevel=3)
        # sample k of the epoch stream is rank k % world's sample k // world: worker (k // world) % workers
        return [_Part(s, starts[s], modulus * workers, residue + modulus * worker) for s in mine]

    def __len__(self) -> int:
        rank, world = self._rank_world()
        order = self.shard_order(self.epoch)
        if len(order) >= world:
            return sum(self.counts[s] for s in order[rank::world])
        return (self.num_samples - rank + world - 1) // world

    # ------------------------------------------------------------------ iteration

    def _fail(self, error: DecodeError, gid: int, name: str) -> Skipped:
        if self.on_error == "raise":
            raise error
        return skip_item(self._skipped, gid, name, error)

    def _records(self, parts: List[_Part]):
        """(name, bytes, label, id) of this worker's samples, in shard order, or Skipped markers."""
        for part in parts:
            path, expected, first = self.shards[part.shard], self.counts[part.shard], self.offsets[part.shard]

            def want(p, part=part):
                return (part.base + p) % part.modulus == part.residue
            done = 0
            try:
                for pos, key, group in _samples(path, want, expected):
                    done = pos + 1
                    if group is not None:
                        try:
                            record = _record(path, key, group, first + pos)
                        except DecodeError as e:
                            record = self._fail(e, first + pos, f"{path}:{key}")
                        yield record
            except DecodeError as e:
                if self.on_error == "raise":
                    raise
                lost = [first + p for p in range(done, expected) if want(p)]
                with self._skipped.get_lock():
                    self._skipped.value += len(lost)
                warnings.warn(f"skipped {len(lost)} samples: {e}", RuntimeWarning, stacklevel=2)
                for gid in lost:
                    yield Skipped(gid, path, str(e))

    def __iter__(self):
        epoch, (rank, world) = self.epoch, self._rank_world()
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        records = self._records(self._parts(epoch, rank, world, worker, workers))
        if self.shuffle and self.shuffle_buffer > 1:
            rng = random.Random(_hash("samples", self.seed, epoch, rank, world, worker, workers))
            records = _buffer_shuffle(records, self.shuffle_buffer, rng)
        plan, id_base = self.crop_plan, epoch * self.num_samples
        for record in records:
            if not isinstance(record, Skipped):
                name, data, label, gid = record
                try:
                    record = decode_item(data, label, gid, name=name, mode=self.decode, decoder=self.decoder,
                                         crop_plan=plan, sample_id=id_base + gid)
                except DecodeError as e:
                    record = self._fail(e, gid, name)
            yield record

    def __repr__(self) -> str:
        return (f"TarShards({len(self.shards)} shards, {self.num_samples} samples, decode={self.decode!r}, "
                f"shuffle={self.shuffle})")
