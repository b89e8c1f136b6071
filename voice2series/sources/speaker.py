"""GE2E speaker encoder, from the weights shipped in the Resemblyzer 0.1.4 wheel."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import torchaudio
from torch import nn

from .base import AcousticSource, package_file

__all__ = ["SpeakerEncoderSource", "partial_slices"]

_INSTALL = "pip install --no-deps resemblyzer==0.1.4"
SAMPLE_RATE = 16000
HOP = 160  # 10 ms mel step
PARTIAL_FRAMES = 160  # 1.6 s per partial utterance


def resemblyzer_weights():
    """Path of ``pretrained.pt`` inside the installed Resemblyzer package."""
    return package_file("resemblyzer", "pretrained.pt", _INSTALL)


def partial_slices(n_samples, rate=1.3, min_coverage=0.75):
    """Mel-frame starts of the partial utterances, as Resemblyzer computes them.

    Mirrors ``VoiceEncoder.compute_partial_slices``: windows of 160 frames
    every ``round(16000 / rate / 160)`` frames; the last one is dropped when
    less than ``min_coverage`` of it holds real samples (unless it is the
    only one).

    Returns
    -------
    list of int
        First mel frame of each partial; each spans 160 frames.
    """
    n_frames = math.ceil((n_samples + 1) / HOP)
    frame_step = int(round(SAMPLE_RATE / rate / HOP))
    if not 0 < frame_step <= PARTIAL_FRAMES:
        raise ValueError(f"rate must give a step of 1 to {PARTIAL_FRAMES} frames, got rate={rate}.")
    starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + frame_step + 1), frame_step))
    coverage = (n_samples - starts[-1] * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < min_coverage and len(starts) > 1:
        starts = starts[:-1]
    return starts


class SpeakerEncoderSource(AcousticSource):
    """GE2E speaker encoder (Wan et al., ICASSP 2018) as a frozen source.

    Resemblyzer's network (3-layer LSTM(40 → 256), linear, ReLU, L2 norm) and
    weights, with its mel front end rebuilt in torchaudio so that gradients
    reach the waveform: 40 mel bands (Slaney scale and norm), 25 ms windows,
    10 ms step, power spectrum, no log. Like ``VoiceEncoder.embed_utterance``,
    the waveform is zero-padded, cut into 1.6 s partial utterances and the
    partial embeddings averaged and L2-normalised.

    Parameters
    ----------
    input_length : int, default=25600
        Samples per waveform at 16 kHz (25600: exactly one partial).
    rate : float, default=1.3
        Partial utterances per second (Resemblyzer's default).
    min_coverage : float, default=0.75
        Keep a last partial only if this fraction of it is real samples.
    """

    name = "speaker-encoder"
    sample_rate = SAMPLE_RATE
    n_outputs = 256

    def __init__(self, input_length=25600, rate=1.3, min_coverage=0.75):
        super().__init__()
        if int(input_length) < 1:
            raise ValueError(f"input_length must be positive, got {input_length}.")
        if not 0 < min_coverage <= 1:
            raise ValueError(f"min_coverage must be in (0, 1], got {min_coverage}.")
        self.input_length = int(input_length)
        self.rate = float(rate)
        self.min_coverage = float(min_coverage)
        self.starts = partial_slices(self.input_length, self.rate, self.min_coverage)
        self.padded_length = max(self.input_length, (self.starts[-1] + PARTIAL_FRAMES) * HOP)
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE,
            n_fft=400,
            hop_length=HOP,
            n_mels=40,
            norm="slaney",
            mel_scale="slaney",
            pad_mode="constant",  # librosa's defaults
        )
        self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        state = torch.load(resemblyzer_weights(), map_location="cpu", weights_only=True)["model_state"]
        # similarity_weight/bias belong to the GE2E training loss, not the encoder.
        encoder = {k: v for k, v in state.items() if not k.startswith("similarity_")}
        result = self.load_state_dict(encoder, strict=False)
        # Only the mel front end's fixed window and filter bank are not in the file.
        if result.unexpected_keys or any(not k.startswith("mel.") for k in result.missing_keys):
            raise ValueError(f"{resemblyzer_weights()} does not hold a GE2E encoder: {result}")
        self.freeze()

    def spec(self):
        return {
            "name": self.name,
            "input_length": self.input_length,
            "rate": self.rate,
            "min_coverage": self.min_coverage,
        }

    def embed_frames(self, mels):
        """``(n, frames, 40)`` mel frames → ``(n, 256)`` unit-norm embeddings."""
        _, (hidden, _) = self.lstm(mels)
        raw = F.relu(self.linear(hidden[-1]))
        return raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def forward(self, waveform):
        waveform = F.pad(waveform, (0, self.padded_length - waveform.shape[-1]))
        mels = self.mel(waveform).transpose(1, 2)  # (batch, frames, 40)
        partials = torch.stack([mels[:, s : s + PARTIAL_FRAMES] for s in self.starts], dim=1)
        batch, n_partials = partials.shape[:2]
        embeddings = self.embed_frames(partials.reshape(batch * n_partials, PARTIAL_FRAMES, 40))
        mean = embeddings.reshape(batch, n_partials, self.n_outputs).mean(dim=1)
        return mean / mean.norm(dim=1, keepdim=True).clamp_min(1e-12)
