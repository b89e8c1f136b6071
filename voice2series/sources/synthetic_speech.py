"""A synthetic keyword corpus: the 35 Speech Commands v2 words spoken by espeak-ng.

Google Speech Commands cannot be downloaded everywhere (offline machines, CI),
so the paper's AttRNN source also comes as a *stand-in* trained on this
corpus (source ``"attrnn-synth"``). It is formant-synthesised speech, not
human recordings: a model trained on it recognises real speech far less well
than one trained on Speech Commands (see ``benchmarks/attrnn_synth_real_speech.py``).

Recipe (:func:`synthesize_keywords`): each word is rendered by espeak-ng in
many voices (8 English accents x 98 voice variants), speeds and
pitches; each rendering is reused for ``clips_per_rendering`` clips that
differ by their augmentations, applied in numpy: a vocal-tract/tempo warp
(the 22,050 Hz waveform read at a slightly different rate, then resampled
to 16 kHz), a random microphone colouring (high-pass, low-pass, tilt),
optional synthetic reverberation, a random position inside the 1 s clip,
coloured background noise at a random signal-to-noise ratio, and a random
level. A ``"_silence_"`` class holds noise alone and an ``"_unknown_"``
class other words. The same ``random_state`` gives the same corpus.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "ACCENTS",
    "SILENCE",
    "UNKNOWN",
    "UNKNOWN_WORDS",
    "VARIANTS",
    "WORDS",
    "KeywordCorpus",
    "espeak_executable",
    "synthesize_keywords",
]

#: The 35 keywords of Google Speech Commands v2, in alphabetical (folder) order.
WORDS = (
    "backward",
    "bed",
    "bird",
    "cat",
    "dog",
    "down",
    "eight",
    "five",
    "follow",
    "forward",
    "four",
    "go",
    "happy",
    "house",
    "learn",
    "left",
    "marvin",
    "nine",
    "no",
    "off",
    "on",
    "one",
    "right",
    "seven",
    "sheila",
    "six",
    "stop",
    "three",
    "tree",
    "two",
    "up",
    "visual",
    "wow",
    "yes",
    "zero",
)
SILENCE = "_silence_"
UNKNOWN = "_unknown_"
#: Other words, spoken for the ``"_unknown_"`` class (none sounds like a keyword).
UNKNOWN_WORDS = (
    "animal",
    "apple",
    "bottle",
    "button",
    "chair",
    "dance",
    "early",
    "fish",
    "garden",
    "green",
    "hello",
    "jump",
    "kitchen",
    "later",
    "light",
    "maybe",
    "money",
    "monkey",
    "music",
    "never",
    "nothing",
    "open",
    "orange",
    "paper",
    "pencil",
    "pillow",
    "queen",
    "river",
    "rocket",
    "sister",
    "table",
    "talk",
    "under",
    "village",
    "water",
    "window",
    "yellow",
    "zebra",
    "morning",
    "little",
)
#: espeak-ng English accents (its eSpeak voices; the mbrola ones need extra data).
ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-rp",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
#: espeak-ng voice variants (``-v en-us+f3``); "" is the accent's own voice.
#: Dropped: "Mr", "fast", "serious" (identical to "") and "klatt6", "caleb"
#: (identical to "klatt") in espeak-ng 1.51.
VARIANTS = (
    "",
    "Alex",
    "Alicia",
    "Andrea",
    "Andy",
    "Annie",
    "AnxiousAndy",
    "Demonic",
    "Denis",
    "Diogo",
    "Gene",
    "Gene2",
    "Henrique",
    "Hugo",
    "Jacky",
    "Lee",
    "Marco",
    "Mario",
    "Michael",
    "Mike",
    "Nguyen",
    "RicishayMax",
    "RicishayMax2",
    "RicishayMax3",
    "Storm",
    "Tweaky",
    "UniRobot",
    "adam",
    "anika",
    "anikaRobot",
    "announcer",
    "antonio",
    "aunty",
    "belinda",
    "benjamin",
    "boris",
    "croak",
    "david",
    "ed",
    "edward",
    "edward2",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "grandma",
    "grandpa",
    "gustave",
    "iven",
    "iven2",
    "iven3",
    "iven4",
    "john",
    "kaukovalta",
    "klatt",
    "klatt2",
    "klatt3",
    "klatt4",
    "klatt5",
    "linda",
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "m8",
    "marcelo",
    "max",
    "michel",
    "miguel",
    "norbert",
    "pablo",
    "paul",
    "pedro",
    "quincy",
    "rob",
    "robert",
    "robosoft",
    "robosoft2",
    "robosoft3",
    "robosoft4",
    "robosoft5",
    "robosoft6",
    "robosoft7",
    "robosoft8",
    "sandro",
    "shelby",
    "steph",
    "steph2",
    "steph3",
    "travis",
    "victor",
    "whisper",
    "whisperf",
    "zac",
)
# Rates a 22,050 Hz rendering is read at (warp factor 0.91 to 1.09): each has a
# large common divisor with 16,000, which keeps the resampling kernels short.
_WARP_RATES = (20000, 20800, 21600, 22050, 22400, 23200, 24000)
_INSTALL_HINT = (
    "espeak-ng is needed to synthesise the keyword corpus: install it with "
    "'apt-get install espeak-ng' (Debian/Ubuntu), 'brew install espeak-ng' (macOS), "
    "or pass executable=<path to espeak-ng>."
)


def espeak_executable(executable="espeak-ng"):
    """Full path of the espeak-ng program, or FileNotFoundError saying how to install it."""
    path = shutil.which(executable)
    if path is None:
        raise FileNotFoundError(f"{executable!r} was not found on PATH. {_INSTALL_HINT}")
    return path


@dataclass
class KeywordCorpus:
    """Clips of :func:`synthesize_keywords`.

    Attributes
    ----------
    waves : numpy.ndarray of float32, shape (n_clips, length)
        Clips at ``sample_rate``, in [-1, 1].
    labels : numpy.ndarray of int64, shape (n_clips,)
        Index of each clip's class in ``classes``.
    classes : list of str
        The words, then ``"_silence_"`` and ``"_unknown_"`` when present.
    voices : numpy.ndarray of str, shape (n_clips,)
        espeak-ng voice of each clip (``""`` for silence).
    validation : numpy.ndarray of bool, shape (n_clips,)
        Clips spoken by held-out voice variants (and 10 % of the silence):
        a validation set of voices never seen in training.
    sample_rate : int
    recipe : dict
        The settings that made the corpus (JSON-serialisable).
    """

    waves: np.ndarray
    labels: np.ndarray
    classes: list
    voices: np.ndarray
    validation: np.ndarray
    sample_rate: int
    recipe: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.labels)

    @property
    def clips(self):
        """``(waves, labels, classes, validation)``, what ``pretrain(clips=...)`` takes."""
        return self.waves, self.labels, list(self.classes), self.validation


def _parse_wav(data):
    """espeak-ng's ``--stdout`` WAV (its size fields are bogus) → (rate, float32 samples)."""
    if data[:4] != b"RIFF" or b"data" not in data[:200]:
        raise RuntimeError(f"espeak-ng did not write a WAV file (got {data[:40]!r}).")
    rate = int.from_bytes(data[24:28], "little")
    start = data.index(b"data") + 8
    body = data[start : start + (len(data) - start) // 2 * 2]
    return rate, np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0


def _speak(executable, word, voice, speed, pitch):
    """One espeak-ng rendering: (sample rate, float32 waveform)."""
    result = subprocess.run(
        [executable, "--stdout", "-v", voice, "-s", str(speed), "-p", str(pitch), word],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(
            f"espeak-ng failed on {word!r} with voice {voice!r} (exit {result.returncode}): "
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    return _parse_wav(result.stdout)


def _trim(wave, threshold=0.02):
    """Cut the leading and trailing silence espeak-ng adds."""
    peak = np.abs(wave).max()
    if peak == 0:
        return wave[:0]
    active = np.flatnonzero(np.abs(wave) > threshold * peak)
    return wave[active[0] : active[-1] + 1]


def _coloured_noise(rng, length, exponent):
    """Unit-RMS noise with a 1/f^exponent power spectrum (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    frequency = np.arange(len(spectrum), dtype=np.float64)
    frequency[0] = 1.0
    noise = np.fft.irfft(spectrum * frequency ** (-exponent / 2), n=length)
    noise -= noise.mean()
    return noise / max(np.sqrt(np.mean(noise**2)), 1e-12)


def _colour(rng, wave, sample_rate):
    """A random microphone/channel response: high-pass, low-pass, spectral tilt."""
    from scipy import signal

    if rng.random() < 0.5:
        cutoff = math.exp(rng.uniform(math.log(40.0), math.log(400.0)))
        wave = signal.sosfilt(signal.butter(2, cutoff, "highpass", fs=sample_rate, output="sos"), wave)
    if rng.random() < 0.5:
        cutoff = rng.uniform(3000.0, 0.47 * sample_rate)
        wave = signal.sosfilt(signal.butter(4, cutoff, "lowpass", fs=sample_rate, output="sos"), wave)
    if rng.random() < 0.5:
        wave = signal.lfilter([1.0, -rng.uniform(-0.5, 0.95)], [1.0], wave)
    return wave


def _reverb(rng, wave, sample_rate):
    """Convolve with a synthetic room response (decaying noise, RT60 0.1-0.6 s)."""
    from scipy import signal

    rt60 = rng.uniform(0.1, 0.6)
    t = np.arange(int(rt60 * sample_rate)) / sample_rate
    response = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60) * rng.uniform(0.05, 0.3)
    response[0] = 1.0
    return signal.fftconvolve(wave, response)[: len(wave)]


def _resampler(rate, sample_rate):
    import torch
    import torchaudio

    def resample(wave):
        tensor = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
        return torchaudio.functional.resample(tensor, rate, sample_rate).numpy().astype(np.float64)

    return resample


def _augment(rng, raw, raw_rate, length, sample_rate, snr_db, resamplers):
    """One clip from a rendering: warp, colour, reverb, place, add noise, set level."""
    rate = _WARP_RATES[rng.integers(len(_WARP_RATES))] if raw_rate == 22050 else raw_rate
    speech = _trim(resamplers[(rate, sample_rate)](raw))
    if len(speech) > length:  # a slow, long rendering: keep its middle
        start = (len(speech) - length) // 2
        speech = speech[start : start + length]
    speech = _colour(rng, speech, sample_rate)
    clip = np.zeros(length)
    offset = rng.integers(0, length - len(speech) + 1)
    clip[offset : offset + len(speech)] = speech
    if rng.random() < 0.4:
        clip = _reverb(rng, clip, sample_rate)
    power = np.mean(speech**2) if len(speech) else 0.0
    snr = rng.uniform(*snr_db)
    noise = _colour(rng, _coloured_noise(rng, length, rng.uniform(0.0, 2.0)), sample_rate)
    clip += noise / max(np.sqrt(np.mean(noise**2)), 1e-12) * math.sqrt(power) * 10 ** (-snr / 20)
    return _set_level(rng, clip)


def _silence(rng, length, sample_rate):
    """Background noise alone, at a random level (very quiet to loud)."""
    noise = _colour(rng, _coloured_noise(rng, length, rng.uniform(0.0, 2.0)), sample_rate)
    if rng.random() < 0.3:  # a second noise of another colour
        noise += rng.uniform(0.2, 1.0) * _coloured_noise(rng, length, rng.uniform(0.0, 2.0))
    return _set_level(rng, noise, low=1e-3)


def _set_level(rng, clip, low=0.05, high=0.95):
    peak = np.abs(clip).max()
    level = math.exp(rng.uniform(math.log(low), math.log(high)))
    return (clip * (level / peak if peak > 0 else 0.0)).astype(np.float32)


def synthesize_keywords(
    words=WORDS,
    *,
    clips_per_class=400,
    clips_per_rendering=2,
    silence=True,
    unknown_words=UNKNOWN_WORDS,
    accents=ACCENTS,
    variants=VARIANTS,
    speed=(80, 190),
    pitch=(15, 85),
    snr_db=(8.0, 40.0),
    validation_fraction=0.1,
    length=16000,
    sample_rate=16000,
    random_state=0,
    n_jobs=1,
    executable="espeak-ng",
):
    """Synthesise a keyword-spotting corpus with espeak-ng.

    Each class gets ``clips_per_class`` clips. A word's clips come from
    ``ceil(clips_per_class / clips_per_rendering)`` espeak-ng renderings,
    each with a random voice (accent + variant), speed and pitch; every
    rendering is synthesised once and augmented ``clips_per_rendering``
    times (see the module docstring). Validation clips are those of a random
    ``validation_fraction`` of the voice variants.

    Parameters
    ----------
    words : sequence of str, default=WORDS
        The keywords (default: the 35 of Speech Commands v2).
    clips_per_class : int, default=400
    clips_per_rendering : int, default=2
        Augmented clips made from one espeak-ng rendering.
    silence : bool, default=True
        Add a ``"_silence_"`` class of background noise alone.
    unknown_words : sequence of str, default=UNKNOWN_WORDS
        Words of an ``"_unknown_"`` class; empty for none.
    accents, variants : sequences of str
        espeak-ng voices are ``accent`` or ``accent+variant``.
    speed : (int, int), default=(80, 190)
        Range of speaking rates, words per minute (espeak-ng ``-s``; its
        default 175 says isolated words faster than most Speech Commands
        speakers).
    pitch : (int, int), default=(15, 85)
        Range of espeak-ng pitch settings (``-p``, 0-99).
    snr_db : (float, float), default=(8, 40)
        Range of speech-to-noise ratios.
    validation_fraction : float, default=0.1
    length : int, default=16000
        Samples per clip.
    sample_rate : int, default=16000
    random_state : int, default=0
        The same value gives the same corpus.
    n_jobs : int, default=1
        Parallel espeak-ng processes.
    executable : str, default="espeak-ng"

    Returns
    -------
    KeywordCorpus

    Examples
    --------
    >>> corpus = synthesize_keywords(["yes", "no"], clips_per_class=2,
    ...                              unknown_words=(), accents=["en-us"])  # doctest: +SKIP
    >>> corpus.classes, corpus.waves.shape  # doctest: +SKIP
    (['yes', 'no', '_silence_'], (6, 16000))
    """
    executable = espeak_executable(executable)
    words, accents, variants = list(words), list(accents), list(variants)
    unknown_words = list(unknown_words)
    if not words or not accents or not variants:
        raise ValueError("words, accents and variants must each name at least one entry.")
    if clips_per_class < 1 or clips_per_rendering < 1:
        raise ValueError(
            f"clips_per_class and clips_per_rendering must be >= 1, got {clips_per_class} and {clips_per_rendering}."
        )
    classes = words + ([SILENCE] if silence else []) + ([UNKNOWN] if unknown_words else [])
    rng = np.random.default_rng(random_state)
    n_held_out = round(validation_fraction * len(variants))
    held_out = set(rng.choice(variants, size=n_held_out, replace=False).tolist()) if n_held_out else set()
    n_renderings = math.ceil(clips_per_class / clips_per_rendering)

    # Draw every rendering's settings first, in a fixed order, so the corpus
    # does not depend on n_jobs.
    spoken = [(label, [word]) for label, word in enumerate(words)]
    if unknown_words:
        spoken.append((classes.index(UNKNOWN), unknown_words))
    renderings = []  # (label, word, accent, variant, speed, pitch)
    for label, vocabulary in spoken:
        for _ in range(n_renderings):
            renderings.append(
                (
                    label,
                    vocabulary[rng.integers(len(vocabulary))],
                    accents[rng.integers(len(accents))],
                    variants[rng.integers(len(variants))],
                    int(rng.integers(speed[0], speed[1] + 1)),
                    int(rng.integers(pitch[0], pitch[1] + 1)),
                )
            )
    keys = sorted({(w, a + ("+" + v if v else ""), s, p) for _, w, a, v, s, p in renderings})
    with ThreadPoolExecutor(max(1, n_jobs)) as pool:
        cache = dict(zip(keys, pool.map(lambda key: _speak(executable, *key), keys)))
    resamplers = {
        (rate, sample_rate): _resampler(rate, sample_rate) for rate in {*_WARP_RATES, *(r for r, _ in cache.values())}
    }

    seed = int(rng.integers(2**32))
    n_clips = len(spoken) * clips_per_class + (clips_per_class if silence else 0)
    waves = np.empty((n_clips, length), dtype=np.float32)
    labels = np.empty(n_clips, dtype=np.int64)
    voices = np.empty(n_clips, dtype=object)
    validation = np.empty(n_clips, dtype=bool)
    i = 0
    for index, (label, word, accent, variant, spd, pch) in enumerate(renderings):
        voice = accent + ("+" + variant if variant else "")
        raw_rate, raw = cache[(word, voice, spd, pch)]
        first = index % n_renderings * clips_per_rendering
        for k in range(min(clips_per_rendering, clips_per_class - first)):
            clip_rng = np.random.default_rng([seed, index, k])
            waves[i] = _augment(clip_rng, raw, raw_rate, length, sample_rate, snr_db, resamplers)
            labels[i], voices[i], validation[i] = label, voice, variant in held_out
            i += 1
    if silence:
        for k in range(clips_per_class):
            clip_rng = np.random.default_rng([seed, len(renderings), k])
            waves[i] = _silence(clip_rng, length, sample_rate)
            labels[i], voices[i] = classes.index(SILENCE), ""
            validation[i] = clip_rng.random() < validation_fraction
            i += 1
    recipe = {
        "generator": "voice2series.sources.synthetic_speech.synthesize_keywords",
        "espeak_ng": _espeak_version(executable),
        "classes": classes,
        "clips_per_class": clips_per_class,
        "clips_per_rendering": clips_per_rendering,
        "n_renderings": len(keys),
        "unknown_words": unknown_words,
        "accents": accents,
        "variants": variants,
        "held_out_variants": sorted(held_out),
        "speed": list(speed),
        "pitch": list(pitch),
        "snr_db": list(snr_db),
        "length": length,
        "sample_rate": sample_rate,
        "random_state": random_state,
    }
    return KeywordCorpus(
        waves=waves,
        labels=labels,
        classes=classes,
        voices=voices.astype(str),
        validation=validation,
        sample_rate=sample_rate,
        recipe=recipe,
    )


def _espeak_version(executable):
    result = subprocess.run([executable, "--version"], capture_output=True, check=False)
    return result.stdout.decode(errors="replace").split("Data at")[0].strip()
