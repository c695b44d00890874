"""Speech in the voice of a reference recording, with CSM (sesame/csm-1b) over transformers.

CSM is a conversational speech model: a Llama backbone predicts each frame's
first Mimi codebook, a small depth decoder the other codebooks, and the Mimi
codec turns the codes into 24 kHz audio. It speaks as the speaker of a
conversation, so a voice is cloned by prompting, not by training: the reference
recording and its transcript go in as an earlier turn of speaker 0, and the text
to say as speaker 0's next turn (the chat template of the checkpoint writes them
out). Of the voice-prompting families transformers ships (CSM, Dia, Higgs Audio
v2, VibeVoice), CSM is the smallest (a 1B backbone, a 0.1B depth decoder; Dia
1.6B, VibeVoice 1.5B, Higgs Audio 5.8B) and its codec runs at 12.5 frames a
second (Dia's DAC 86, Higgs Audio's 25; VibeVoice's 7.5 tokens a second each
run a diffusion head of several steps): the fewest weight passes per second of
speech, which is what a CPU pays for.

A call goes: 1. check the text and the reference (5 to 30 s, not silent),
2. write the conversation, 3. generate frames (seeded) until the model's end
frame or a length that fits the text, 4. decode them with Mimi.
The recipe keeps a sha256 of the reference's samples (mono float32 at the
recording's own rate), never the audio, so a result says which recording it
came from.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from pipelines import checks
from pipelines.audio_io import is_silent, load_audio, to_mono
from pipelines.devices import precision_of, seeded
from pipelines.loading import SAFE_LOAD
from pipelines.results import AudioResult
from pipelines.settings import SEED, Settings, checked
from pipelines.stopping import Stop
from pipelines.wrapper import Wrapper

MIN_REFERENCE, MAX_REFERENCE = 5.0, 30.0  # seconds: shorter says too little of the voice, longer crowds the context
MAX_TEXT_CHARS = 600  # about a minute of speech: one generation, the context holds it with a 30 s reference
MAX_REFERENCE_TEXT_CHARS = 1000
CHARS_PER_SECOND = 10.0  # slow speech; the model's end frame stops it sooner
SPEAKER = "0"  # the conversation's speaker id: the reference's, and so the reply's
SETTINGS = Settings(SEED)  # a cloned voice keeps the recording's own pace: no rate, no pause
D = SETTINGS.defaults


def reference_samples(voice, rate: int) -> tuple[np.ndarray, str, float]:
    """The reference as mono samples at `rate`, the sha256 of its own samples and its length in seconds; checked."""
    from pipelines.audio_io import decode

    samples, source_rate = decode(voice, name="voice", max_seconds=MAX_REFERENCE + 1)
    mono = to_mono(samples)
    seconds = len(mono) / source_rate
    if not MIN_REFERENCE <= seconds <= MAX_REFERENCE:
        raise ValueError(
            f"voice recording is {seconds:.1f} s long; a voice to clone must last {MIN_REFERENCE:g} to {MAX_REFERENCE:g} s"
        )
    if is_silent(mono):
        raise ValueError("voice recording is silent (its peak is under -60 dBFS); record someone speaking")
    digest = hashlib.sha256(np.ascontiguousarray(mono, dtype="<f4").tobytes()).hexdigest()
    resampled, _ = load_audio((source_rate, mono), rate, name="voice")
    return resampled, digest, seconds


class VoiceClone(Wrapper):
    task = "text_to_speech"
    kind = "text_to_speech"  # for the number format (pipelines.devices)
    loading = "voice cloning"

    def __init__(self, model, processor, name: str):
        self.model = model
        self.processor = processor
        self.name = name
        self.device = str(model.device)

    @classmethod
    def load_parts(cls, name: str, device: str, dtype) -> tuple:
        """A CSM checkpoint in `dtype` (`from_pretrained`'s default: the device's format for speech,
        pipelines.devices) and its processor."""
        from transformers import AutoProcessor, CsmForConditionalGeneration

        processor = AutoProcessor.from_pretrained(name)
        csm = CsmForConditionalGeneration.from_pretrained(name, dtype=dtype, **SAFE_LOAD).to(device).eval()
        return csm, processor

    @property
    def sampling_rate(self) -> int:
        return int(self.processor.feature_extractor.sampling_rate)

    @checked(SETTINGS)
    def __call__(
        self, text: str, *, voice, reference_text: str, seed: int | None = D.seed, stop: Stop = None
    ) -> AudioResult:
        """Speech reading `text` in the voice of the recording `voice` (5 to 30 s) whose words are `reference_text`."""
        text = checks.text("text", text, max_chars=MAX_TEXT_CHARS)
        reference_text = checks.text("reference_text", reference_text, max_chars=MAX_REFERENCE_TEXT_CHARS)
        samples, digest, seconds = reference_samples(voice, self.sampling_rate)
        frames = self._frames(text)
        with seeded(seed, self.device):
            audio = self._generate(text, samples, reference_text, frames, stop)
        recipe = {
            "task": self.task,
            "model": self.name,
            "text": text,
            "seed": seed,
            "voice_sha256": digest,
            "reference_text": reference_text,
            "reference_seconds": round(seconds, 3),
            "dtype": precision_of(self.model),
        }
        return AudioResult(audio=audio, sampling_rate=self.sampling_rate, params=recipe)

    def _frames(self, text: str) -> int:
        """The most frames `text` may take: generous for slow speech, within the backbone's context."""
        rate = float(getattr(self.model.config.codec_config, "frame_rate", 12.5))
        return max(1, math.ceil(rate * (1.0 + len(text) / CHARS_PER_SECOND)))

    def _generate(self, text: str, samples: np.ndarray, reference_text: str, frames: int, stop: Stop) -> np.ndarray:
        import torch
        from tqdm import tqdm

        from pipelines.stopping import stop_check

        conversation = [
            {"role": SPEAKER, "content": [{"type": "text", "text": reference_text}, {"type": "audio"}]},
            {"role": SPEAKER, "content": [{"type": "text", "text": text}]},
        ]
        prompt = self.processor.apply_chat_template(conversation, tokenize=False)
        inputs = self.processor(text=prompt, audio=[samples], return_tensors="pt").to(self.device)
        inputs["input_values"] = inputs["input_values"].to(self.model.dtype)
        check = stop_check(stop)
        with tqdm(total=frames, desc="speech", unit="frame", disable=None, leave=False) as bar:
            criteria = [_progress(bar, check)]
            with torch.no_grad():
                waves = self.model.generate(**inputs, output_audio=True, do_sample=True, depth_decoder_do_sample=True,
                                            max_new_tokens=frames, stopping_criteria=criteria)
        return waves[0].float().cpu().numpy().astype(np.float32)


def _progress(bar, check):
    """A StoppingCriteria moving `bar` one frame a step and raising Cancelled when a stop was asked for."""
    import torch
    from transformers import StoppingCriteria

    from pipelines.stopping import halt_if

    class Progress(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            bar.update(1)
            halt_if(check, "speech")
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    return Progress()
