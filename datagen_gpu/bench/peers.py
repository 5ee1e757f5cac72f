"""The libraries ``datagen-gpu bench`` compares against, each built for a pipeline or skipped with a reason.

Peers are optional imports: none of them is a dependency of datagen_gpu. Each
peer module builds its library's version of a :class:`~.cases.Pipeline` from
the same inputs and raises :class:`~.cases.Unavailable` with the reason when
it cannot (not installed, cannot express the pipeline, fails to build here):

- ``torchvision`` (``peers_torchvision.py``): ``transforms.v2`` per image in
  DataLoader-like worker processes, one per thread; ``v2.MixUp`` / ``CutMix``;
  ``--source DIR``: ``datasets.ImageFolder`` + ``DataLoader``;
- ``timm`` (``peers_timm.py``): ``create_transform`` on PIL images in worker
  processes (ImageNet policies); ``timm.data.Mixup``;
- ``kornia`` (``peers_kornia.py``): ``kornia.augmentation`` on the whole batch;
- ``dali`` (``peers_dali.py``): NVIDIA DALI pipelines (CPU operators, GPU
  operators on CUDA; ``auto_aug`` for the policies; the file reader and
  decoder for ``--source DIR``);
- ``torchaudio`` and ``torch`` (``peers_audio.py``): torchaudio's SpecAugment;
  the plain-PyTorch code a user writes without a library (SpecAugment, Mixup).
"""
import importlib
import importlib.util
from dataclasses import dataclass
from typing import Callable, Union

from .cases import Pipeline, Settings, Unavailable
from .inputs import Inputs
from .timing import Stream

# peer name -> (module in this package, the Python module it needs, the pipeline kinds it is tried on)
PEERS = {
    "torchvision": ("peers_torchvision", "torchvision", ("views", "policy", "mixing")),
    "timm": ("peers_timm", "timm", ("policy", "mixing")),
    "kornia": ("peers_kornia", "kornia", ("views", "policy")),
    "dali": ("peers_dali", "nvidia.dali", ("views", "policy", "spectrogram", "mixing")),
    "torchaudio": ("peers_audio", "torchaudio", ("spectrogram",)),
    "torch": ("peers_audio", "torch", ("spectrogram", "mixing")),
}
DEFAULT_PEERS = tuple(PEERS)


@dataclass
class Built:
    """A library's runnable version of a pipeline.

    Attributes:
        run: a zero-argument callable producing one batch, or a :class:`Stream`.
        device: where the work runs ("cpu" for worker processes even on a CUDA run).
        note: how this library's version differs from the others (shown in the table).
    """
    run: Union[Callable[[], object], Stream]
    device: str
    note: str = ""


def installed(peer: str) -> bool:
    """Whether the peer's library can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(PEERS[peer][1]) is not None
    except (ImportError, ValueError):  # a parent package missing
        return False


def parse(spec: str):
    """``--compare`` value -> peer names; "all" or "" -> every known peer, "none" -> none.

    Raises:
        ValueError: an unknown peer name (the message lists the choices).
    """
    spec = spec.strip()
    if spec in ("", "all"):
        return list(DEFAULT_PEERS)
    if spec == "none":
        return []
    names = [p.strip() for p in spec.split(",") if p.strip()]
    bad = [p for p in names if p not in PEERS]
    if bad:
        raise ValueError(f"--compare: unknown librar{'ies' if len(bad) > 1 else 'y'} {', '.join(bad)}; "
                         f"choose from {', '.join(PEERS)} (comma-separated), all or none")
    return list(dict.fromkeys(names))


def applies(peer: str, pipeline: Pipeline) -> bool:
    """Whether the peer is a candidate for the pipeline's kind at all (else it is left out silently)."""
    return pipeline.kind in PEERS[peer][2]


def build(peer: str, pipeline: Pipeline, inputs: Inputs, settings: Settings) -> Built:
    """The peer's version of ``pipeline`` on ``inputs``.

    Raises:
        Unavailable: with the reason the peer cannot run it here.
    """
    module_name, needs, _ = PEERS[peer]
    if not installed(peer):
        raise Unavailable(f"{needs} is not installed")
    module = importlib.import_module(f".{module_name}", __package__)
    builder = getattr(module, f"build_{peer}")
    return builder(pipeline, inputs, settings)


def versions(peers=DEFAULT_PEERS):
    """Library -> version string, for every installed peer."""
    out = {}
    for peer in peers:
        if peer == "torch" or not installed(peer):
            continue
        try:
            out[peer] = importlib.import_module(PEERS[peer][1]).__version__
        except Exception as e:  # noqa: BLE001  (a broken install still gets a row)
            out[peer] = f"unimportable ({type(e).__name__})"
    return out


def cannot(peer: str, pipeline: Pipeline, why: str = "") -> Unavailable:
    """The Unavailable for a pipeline a peer cannot express."""
    return Unavailable(f"{peer} cannot express {pipeline.name}" + (f": {why}" if why else ""))
