"""The paper's own source: the attention RNN keyword spotter, and its pretraining.

De Andrade et al., "A neural attention model for speech command recognition"
(2018), the V2S_a source of Voice2Series. No trained weights are published in
a package, so :func:`pretrain` trains it on Google Speech Commands v2 and
saves a checkpoint that :class:`AttRNNSource` loads.

Where Speech Commands cannot be had, :class:`SyntheticAttRNNSource`
(``"attrnn-synth"``) is a *stand-in*: the same network trained on keywords
synthesised by espeak-ng (``pretrain(synthetic=True)``), shipped with the
package. It is not the paper's model and hears real speech much less well.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio
from torch import nn

from .base import AcousticSource

__all__ = [
    "AttRNN",
    "AttRNNSource",
    "SyntheticAttRNNSource",
    "default_checkpoint_path",
    "pretrain",
    "synthetic_checkpoint_path",
]

SPEECH_COMMANDS_URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
REACHABILITY_TIMEOUT_S = 10.0
_NOISE_FOLDER = "_background_noise_"
#: Epochs of ``pretrain(synthetic=True)`` (the shipped stand-in's setting).
SYNTHETIC_EPOCHS = 6
#: The shipped stand-in checkpoint, relative to this package.
SHIPPED_SYNTHETIC_CHECKPOINT = "weights/attrnn_synth.pt"


def default_checkpoint_path():
    """Where :func:`pretrain` saves and :class:`AttRNNSource` looks by default."""
    return Path(torch.hub.get_dir()) / "checkpoints" / "voice2series-attrnn-speechcommands.pt"


def synthetic_checkpoint_path():
    """Where ``pretrain(synthetic=True)`` saves by default (not the shipped file)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / "voice2series-attrnn-synth.pt"


def locate_attrnn_synth_checkpoint():
    """The stand-in checkpoint shipped inside the package, or FileNotFoundError."""
    path = Path(__file__).resolve().parent / SHIPPED_SYNTHETIC_CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(
            f"The shipped stand-in checkpoint {path} is missing (a source checkout without "
            "package data?). Reinstall voice2series, or rebuild it with 'python cli.py "
            f"pretrain --synthetic --output {path}' (needs espeak-ng)."
        )
    return path


def locate_attrnn_checkpoint():
    """The default checkpoint, or FileNotFoundError saying how to make one."""
    path = default_checkpoint_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"No AttRNN checkpoint at {path}. Train one with 'python cli.py pretrain "
            "--root <Speech Commands folder>' (or --download when online), or pass "
            "AttRNNSource(checkpoint=...)."
        )
    return path


class AttRNN(nn.Module):
    """Attention RNN for keyword spotting (de Andrade et al. 2018).

    80-band log-mel (1024-point STFT, hop 128, 40 Hz to Nyquist), per-sample
    standardisation, two (5, 1) convolutions with batch norm, two
    bidirectional LSTM(64) layers, dot-product attention whose query is a
    projection of the last time step, then dense 64 (ReLU) → 32 → classes.

    Parameters
    ----------
    n_classes : int
    sample_rate : int, default=16000
    """

    def __init__(self, n_classes, sample_rate=16000):
        super().__init__()
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=1024,
            hop_length=128,
            n_mels=80,
            f_min=40.0,
            f_max=sample_rate / 2,
            power=1.0,
        )
        self.conv1 = nn.Conv2d(1, 10, (5, 1), padding=(2, 0))
        self.norm1 = nn.BatchNorm2d(10)
        self.conv2 = nn.Conv2d(10, 1, (5, 1), padding=(2, 0))
        self.norm2 = nn.BatchNorm2d(1)
        self.rnn1 = nn.LSTM(80, 64, batch_first=True, bidirectional=True)
        self.rnn2 = nn.LSTM(128, 64, batch_first=True, bidirectional=True)
        self.query = nn.Linear(128, 128)
        self.head = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 32), nn.Linear(32, n_classes))

    def features(self, waveform):
        """``(batch, samples)`` → ``(batch, frames, 80)`` standardised log-mel."""
        decibels = 10.0 * torch.log10(self.mel(waveform).clamp_min(1e-10)).transpose(1, 2)
        decibels = torch.maximum(decibels, decibels.amax(dim=(1, 2), keepdim=True) - 80.0)
        mean = decibels.mean(dim=(1, 2), keepdim=True)
        return (decibels - mean) / decibels.std(dim=(1, 2), keepdim=True).clamp_min(1e-5)

    def forward(self, waveform):
        x = self.features(waveform)[:, None]  # (batch, 1, frames, 80)
        x = self.norm1(F.relu(self.conv1(x)))
        x = self.norm2(F.relu(self.conv2(x)))[:, 0]
        x, _ = self.rnn1(x)
        x, _ = self.rnn2(x)  # (batch, frames, 128)
        query = self.query(x[:, -1])
        weights = torch.softmax(torch.einsum("bd,btd->bt", query, x), dim=1)
        return self.head(torch.einsum("bt,btd->bd", weights, x))


class AttRNNSource(AcousticSource):
    """A pretrained :class:`AttRNN` as a frozen source (the paper's V2S_a).

    Parameters
    ----------
    input_length : int, optional
        Samples per waveform; defaults to the length it was trained on.
    checkpoint : str or path, optional
        A file written by :func:`pretrain`; defaults to
        :func:`default_checkpoint_path`.

    Attributes
    ----------
    labels : list of str
        The class (keyword) of each output, in output order.
    classes : list of str
        The same list as ``labels`` (older name).
    """

    name = "attrnn"

    def __init__(self, input_length=None, checkpoint=None):
        super().__init__()
        path = locate_attrnn_checkpoint() if checkpoint is None else Path(checkpoint)
        if not path.is_file():
            raise FileNotFoundError(f"AttRNN checkpoint {path} does not exist.")
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(saved, dict) or saved.get("format") != "voice2series-attrnn-1":
            raise ValueError(f"{path} was not written by voice2series.sources.attrnn.pretrain.")
        self.checkpoint = None if checkpoint is None else str(checkpoint)
        self.labels = list(saved["classes"])
        self.classes = self.labels
        self.sample_rate = int(saved["sample_rate"])
        self.input_length = int(saved["input_length"] if input_length is None else input_length)
        if self.input_length < 1024:
            raise ValueError(f"AttRNN needs input_length >= 1024, got {self.input_length}.")
        self.n_outputs = len(self.labels)
        self.model = AttRNN(self.n_outputs, self.sample_rate)
        self.model.load_state_dict(saved["state_dict"])
        self.freeze()

    def spec(self):
        return {"name": self.name, "input_length": self.input_length, "checkpoint": self.checkpoint}

    def forward(self, waveform):
        return self.model(waveform)


class SyntheticAttRNNSource(AttRNNSource):
    """Stand-in for the paper's source: AttRNN trained on synthetic speech.

    The :class:`AttRNN` network, trained on a corpus of the 35 Speech Commands
    v2 keywords synthesised by espeak-ng (many voices, speeds and pitches,
    with noise, reverberation and channel augmentations), plus ``_silence_``
    and ``_unknown_`` classes; see
    :mod:`voice2series.sources.synthetic_speech`. Its weights ship with the
    package, so it works offline. It is **not** the paper's Speech Commands
    model: formant-synthesised words are not human speech, and on real
    Speech Commands clips it is far less accurate (the measurement is in
    ``benchmarks/results/attrnn_synth_real_speech.json``). Use it where the
    paper's source architecture matters and Speech Commands is out of reach;
    train ``"attrnn"`` with ``python cli.py pretrain --root`` where it is not.

    Rebuild the shipped file with ``python cli.py pretrain --synthetic
    --output voice2series/sources/weights/attrnn_synth.pt`` (espeak-ng 1.51,
    one CPU thread).

    Parameters
    ----------
    input_length : int, default=16000
        Samples per waveform (16 kHz).

    Attributes
    ----------
    labels : list of str
        The 35 keywords, then ``"_silence_"`` and ``"_unknown_"``, in output
        order.

    Examples
    --------
    >>> from voice2series.sources import get_source
    >>> source = get_source("attrnn-synth")
    >>> source.n_outputs, source.labels[:3], source.labels[-2:]
    (37, ['backward', 'bed', 'bird'], ['_silence_', '_unknown_'])
    """

    name = "attrnn-synth"

    def __init__(self, input_length=None):
        super().__init__(input_length=input_length, checkpoint=locate_attrnn_synth_checkpoint())
        self.checkpoint = None

    def spec(self):
        return {"name": self.name, "input_length": self.input_length}


def _read_wav(path, length):
    from scipy.io import wavfile

    rate, raw = wavfile.read(path)
    data = raw.astype(np.float32)
    if raw.dtype == np.int16:
        data /= 32768.0
    if data.ndim > 1:
        data = data.mean(axis=1)
    clip = np.zeros(length, dtype=np.float32)
    clip[: min(length, len(data))] = data[:length]
    return rate, clip


def _list_clips(root):
    """``(relative path, class)`` of every clip under ``root/<keyword>/*.wav``."""
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("_"))
    clips = [(f"{word}/{wav.name}", word) for word in classes for wav in sorted((root / word).glob("*.wav"))]
    return classes, clips


def _split(root, clips, rng):
    """Official validation list when present, else a random 10 %."""
    listed = root / "validation_list.txt"
    if listed.is_file():
        validation = set(listed.read_text().split())
        testing = root / "testing_list.txt"
        excluded = set(testing.read_text().split()) if testing.is_file() else set()
        train = [c for c in clips if c[0] not in validation and c[0] not in excluded]
        return train, [c for c in clips if c[0] in validation]
    order = rng.permutation(len(clips))
    n_val = max(1, len(clips) // 10)
    return [clips[i] for i in order[n_val:]], [clips[i] for i in order[:n_val]]


def _download_speech_commands(root):
    """Fetch Speech Commands v2 with torchaudio, failing fast when offline."""
    try:
        urllib.request.urlopen(
            urllib.request.Request(SPEECH_COMMANDS_URL, method="HEAD"), timeout=REACHABILITY_TIMEOUT_S
        ).close()
    except OSError as error:
        raise OSError(
            f"Cannot reach {SPEECH_COMMANDS_URL} ({error}). Download and extract Speech "
            "Commands v2 elsewhere and pass its folder (the one holding the keyword "
            "folders) as root without download."
        ) from error
    torchaudio.datasets.SPEECHCOMMANDS(str(root), download=True)
    return Path(root) / "SpeechCommands" / "speech_commands_v0.02"


def _load_clips(root, clips, classes, length):
    index = {word: i for i, word in enumerate(classes)}
    waves = np.stack([_read_wav(root / rel, length)[1] for rel, _ in clips])
    labels = np.array([index[word] for _, word in clips])
    return torch.from_numpy(waves), torch.from_numpy(labels)


def _accuracy(model, waves, labels, batch_size):
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(w).argmax(1) for w in torch.split(waves, batch_size)])
    return float((predicted == labels).float().mean())


def _split_clips(clips, input_length, rng):
    """In-memory ``(waves, labels, classes[, validation])`` → classes, train and validation tensors."""
    if not isinstance(clips, (tuple, list)) or len(clips) not in (3, 4):
        raise ValueError(
            "clips must be a tuple (waves, labels, classes) or (waves, labels, classes, "
            f"validation), got {type(clips).__name__}"
            + (f" of length {len(clips)}" if isinstance(clips, (tuple, list)) else "")
            + "."
        )
    waves = np.asarray(clips[0], dtype=np.float32)
    labels = np.asarray(clips[1])
    classes = [str(c) for c in clips[2]]
    if waves.ndim != 2 or labels.shape != (len(waves),):
        raise ValueError(
            f"clips need waves of shape (n_clips, samples) and labels of shape (n_clips,); got "
            f"{waves.shape} and {labels.shape}."
        )
    if (
        len(classes) < 2
        or not np.issubdtype(labels.dtype, np.integer)
        or (labels.min() < 0 or labels.max() >= len(classes))
    ):
        raise ValueError(
            f"clips need at least two classes and integer labels in 0..{len(classes) - 1} (indices into classes)."
        )
    fitted = np.zeros((len(waves), input_length), dtype=np.float32)
    fitted[:, : min(input_length, waves.shape[1])] = waves[:, :input_length]
    if len(clips) == 4:
        validation = np.asarray(clips[3], dtype=bool)
    else:  # a random 10 %, as for a folder without validation_list.txt
        validation = np.zeros(len(waves), dtype=bool)
        validation[rng.permutation(len(waves))[: max(1, len(waves) // 10)]] = True
    if validation.shape != labels.shape or validation.all() or not validation.any():
        raise ValueError("The validation mask of clips must mark some, not all, of the clips.")
    labels = torch.from_numpy(labels.astype(np.int64))
    train = torch.from_numpy(fitted[~validation]), labels[torch.from_numpy(~validation)]
    val = torch.from_numpy(fitted[validation]), labels[torch.from_numpy(validation)]
    return classes, train, val


def pretrain(
    root=None,
    *,
    clips=None,
    synthetic=False,
    download=False,
    output=None,
    epochs=None,
    batch_size=64,
    learning_rate=1e-3,
    input_length=16000,
    sample_rate=16000,
    random_state=0,
    verbose=True,
):
    """Train :class:`AttRNN` on keyword clips and save a source checkpoint.

    The clips come from one of: a Speech Commands folder (``root``), arrays
    in memory (``clips``), or the synthetic espeak-ng corpus
    (``synthetic=True``; the recipe of the shipped ``"attrnn-synth"``
    stand-in, see :mod:`voice2series.sources.synthetic_speech`).

    Parameters
    ----------
    root : str or path, optional
        A folder with one sub-folder of 16-bit WAV clips per keyword (Speech
        Commands' layout; folders starting with ``_`` are ignored; its
        ``validation_list.txt`` and ``testing_list.txt`` are honoured). With
        ``download=True``, where torchaudio downloads the dataset to.
    clips : tuple, optional
        ``(waves, labels, classes)`` or ``(waves, labels, classes,
        validation)``: waves ``(n_clips, samples)`` at ``sample_rate``,
        integer labels indexing ``classes``, and a boolean mask of the
        validation clips (default: a random 10 %).
    synthetic : bool, default=False
        Synthesise the keyword corpus with espeak-ng
        (:func:`~voice2series.sources.synthetic_speech.synthesize_keywords`
        with ``random_state``) and train on it. Needs the espeak-ng program.
    download : bool, default=False
        Download Speech Commands v2 (2.3 GB) through torchaudio first.
    output : str or path, optional
        Checkpoint file; defaults to :func:`default_checkpoint_path`, or
        :func:`synthetic_checkpoint_path` with ``synthetic=True``.
    epochs : int, optional
        Defaults to 20, or to 6 with ``synthetic=True`` (the shipped
        stand-in's setting: about 17 CPU minutes with the synthesis, one thread).
    batch_size, learning_rate : training settings (Adam).
    input_length : int, default=16000
        Clips are zero-padded or cut to this many samples.
    sample_rate : int, default=16000
        Expected sample rate of the clips.
    random_state : int, default=0
    verbose : bool, default=True
        Print one line per epoch.

    Returns
    -------
    dict
        ``checkpoint`` (path), ``classes``, ``history`` (per-epoch loss and
        accuracies), ``best_val_accuracy``.
    """
    if (root is not None) + (clips is not None) + bool(synthetic) != 1:
        raise ValueError(
            "Pass exactly one of root (a Speech Commands folder), clips=(waves, labels, "
            "classes[, validation]) or synthetic=True."
        )
    rng = np.random.default_rng(random_state)
    torch.manual_seed(random_state)
    extra = {}
    if synthetic:
        from .synthetic_speech import synthesize_keywords

        started = time.perf_counter()
        corpus = synthesize_keywords(length=input_length, sample_rate=sample_rate, random_state=random_state)
        if verbose:
            print(
                f"synthesised {len(corpus)} clips of {len(corpus.classes)} classes in "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
        clips, extra = corpus.clips, {"trained_on": "synthetic espeak-ng corpus", "corpus": corpus.recipe}
        del corpus
    if clips is not None:
        classes, (train_x, train_y), (val_x, val_y) = _split_clips(clips, input_length, rng)
        del clips
    else:
        train_x, train_y, val_x, val_y, classes = _folder_clips(root, download, input_length, sample_rate, rng)
        extra = {"trained_on": "Speech Commands folder"}
    if epochs is None:
        epochs = SYNTHETIC_EPOCHS if synthetic else 20
    model = AttRNN(len(classes), sample_rate)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    if output is None:
        output = synthetic_checkpoint_path() if synthetic else default_checkpoint_path()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    history, best = [], -1.0
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        model.train()
        losses = []
        for batch in torch.split(torch.from_numpy(rng.permutation(len(train_y))), batch_size):
            loss = F.cross_entropy(model(train_x[batch]), train_y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        record = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)),
            "val_accuracy": _accuracy(model, val_x, val_y, batch_size),
            "seconds": time.perf_counter() - started,
        }
        history.append(record)
        if verbose:
            print(
                f"epoch {epoch}: loss {record['train_loss']:.4f}, "
                f"validation accuracy {record['val_accuracy']:.4f} ({record['seconds']:.0f} s)",
                flush=True,
            )
        if record["val_accuracy"] > best:  # keep the best epoch on the validation clips
            best = record["val_accuracy"]
            torch.save(
                {
                    "format": "voice2series-attrnn-1",
                    "state_dict": model.state_dict(),
                    "classes": classes,
                    "sample_rate": sample_rate,
                    "input_length": input_length,
                    "epoch": epoch,
                    "history": list(history),
                    "settings": {
                        "epochs": epochs,
                        "batch_size": batch_size,
                        "learning_rate": learning_rate,
                        "random_state": random_state,
                    },
                    **extra,
                },
                output,
            )
    return {"checkpoint": str(output), "classes": classes, "history": history, "best_val_accuracy": best}


def _folder_clips(root, download, input_length, sample_rate, rng):
    """Train and validation tensors, and the classes, of a Speech Commands folder."""
    root = _download_speech_commands(root) if download else Path(root)
    if not root.is_dir():
        raise ValueError(f"Speech Commands folder {root} does not exist; pass download=True to fetch it.")
    classes, clips = _list_clips(root)
    if len(classes) < 2 or not clips:
        raise ValueError(f"{root} must hold at least two keyword folders of .wav clips.")
    train_clips, val_clips = _split(root, clips, rng)
    rate = _read_wav(root / clips[0][0], 1)[0]
    if rate != sample_rate:
        raise ValueError(f"Clips are at {rate} Hz, expected {sample_rate}; resample them first.")
    train_x, train_y = _load_clips(root, train_clips, classes, input_length)
    val_x, val_y = _load_clips(root, val_clips, classes, input_length)
    return train_x, train_y, val_x, val_y, classes
