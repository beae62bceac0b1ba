"""The seven pipeline stages: keys, names, sub-stages and (where built) their work."""
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from services.input_checks import ValidationError
from services.stages import (
    audio_production,
    content_analysis,
    media_extraction,
    quality_packaging,
    segment_selection,
    summary_generation,
    transcription,
)


@dataclass(frozen=True)
class StageDefinition:
    """One pipeline stage as the user sees it, and the module that does its work."""

    number: int
    key: str
    name: str
    description: str
    sub_stages: tuple
    outputs: tuple
    requires: tuple = ()
    weights: Optional[tuple] = None
    run: Optional[Callable] = None
    parameters: Optional[Callable] = field(default=None, compare=False)

    def parameters_for(self, ctx):
        """The parameters that decide whether this stage's earlier outputs can be reused."""
        return self.parameters(ctx) if self.parameters else {}

    def sub_stage_weights(self):
        """Relative share of the stage's time taken by each sub-stage."""
        return self.weights or (1,) * len(self.sub_stages)

    @property
    def implemented(self):
        """Whether this stage can be selected yet."""
        return self.run is not None


STAGES = (
    StageDefinition(
        1, "media_extraction", "Media Extraction",
        "Download the media and extract its audio",
        ("Validating URL", "Fetching metadata", "Downloading media", "Extracting audio",
         "Validating files", "Organizing output"),
        outputs=media_extraction.OUTPUTS,
        weights=(1, 4, 45, 40, 5, 5),
        run=media_extraction.run,
        parameters=media_extraction.parameters,
    ),
    StageDefinition(
        2, "transcription", "Transcription",
        "Transcribe the speech with faster-whisper",
        ("Loading model", "Detecting language", "Transcribing", "Writing subtitles"),
        outputs=transcription.OUTPUTS,
        requires=("audio.wav",),
        weights=(8, 4, 84, 4),
        run=transcription.run,
        parameters=transcription.parameters,
    ),
    StageDefinition(
        3, "content_analysis", "Content Analysis",
        "Find sentences, topics, keywords, speech and silence",
        ("Splitting sentences", "Finding topics/chapters", "Extracting keywords",
         "Measuring speech and silence"),
        outputs=content_analysis.OUTPUTS, requires=("transcript.json",),
        weights=(5, 50, 10, 35),
        run=content_analysis.run,
        parameters=content_analysis.parameters,
    ),
    StageDefinition(
        4, "segment_selection", "Segment Selection",
        "Score and choose the segments for clips and the episode",
        ("Scoring candidates", "Choosing segments", "Awaiting review"),
        outputs=segment_selection.OUTPUTS, requires=("analysis.json",),
        weights=(70, 25, 5),
        run=segment_selection.run,
        parameters=segment_selection.parameters,
    ),
    StageDefinition(
        5, "summary_generation", "Summary Generation",
        "Write the summary and chapter titles",
        ("Summarizing episode", "Summarizing chapters", "Titling chapters"),
        outputs=summary_generation.OUTPUTS, requires=("segments.json",),
        weights=(50, 30, 20),
        run=summary_generation.run,
        parameters=summary_generation.parameters,
    ),
    StageDefinition(
        6, "audio_production", "Audio Production",
        "Cut clips, mix, normalize loudness and encode the episode",
        ("Cutting clips", "Mixing intro/outro and music bed", "Normalizing loudness", "Encoding",
         "Tagging the episode"),
        outputs=audio_production.OUTPUTS, requires=("segments.json", "audio_hq.flac"),
        weights=(25, 35, 15, 20, 5),
        run=audio_production.run,
        parameters=audio_production.parameters,
    ),
    StageDefinition(
        7, "quality_packaging", "Quality Validation",
        "Measure the result and write the report and manifest",
        ("Measuring loudness and peaks", "Checking durations and subtitle timing",
         "Writing report"),
        outputs=quality_packaging.OUTPUTS, requires=("production.json",),
        weights=(80, 5, 15),
        run=quality_packaging.run,
        parameters=quality_packaging.parameters,
    ),
)

STAGES_BY_NUMBER = {stage.number: stage for stage in STAGES}
STAGE_TEXT = re.compile(r"[0-9]{1,3}", re.ASCII)   # str.isdigit() also takes "²", which int() refuses
MAX_STAGE_ITEMS = 50   # stage numbers one request may list (repeats included)


def get_stage(number):
    """The stage with this number (1-7)."""
    return STAGES_BY_NUMBER[number]


def parse_stages(value):
    """A sorted list of distinct, implemented stage numbers from a list or '1,2' text."""
    if value is None or value == "" or value == []:
        raise ValidationError("selected_stages", "Select at least one stage.", "required")
    if isinstance(value, str) and len(value) <= 4 * MAX_STAGE_ITEMS:
        items = [item.strip() for item in value.split(",") if item.strip()]
    elif isinstance(value, list) and len(value) <= MAX_STAGE_ITEMS:
        items = value
    else:
        raise ValidationError("selected_stages", "selected_stages must be a list of at most "
                              f"{MAX_STAGE_ITEMS} stage numbers.")
    numbers = set()
    for item in items:
        if isinstance(item, bool):
            raise ValidationError("selected_stages", "Stage numbers are whole numbers from 1 to 7.")
        if isinstance(item, str) and STAGE_TEXT.fullmatch(item.strip()):
            item = int(item.strip())
        if not isinstance(item, int):
            raise ValidationError("selected_stages", "Stage numbers are whole numbers from 1 to 7.")
        if item not in STAGES_BY_NUMBER:
            shown = f"stage {item}" if abs(item) < 1000 else "such stage"
            raise ValidationError("selected_stages", f"There is no {shown}; stages are 1 to 7.",
                                  "out_of_range")
        numbers.add(item)
    if not numbers:
        raise ValidationError("selected_stages", "Select at least one stage.", "required")
    for number in sorted(numbers):
        stage = STAGES_BY_NUMBER[number]
        if not stage.implemented:
            raise ValidationError("selected_stages",
                                  f"Stage {number} ({stage.name}) is not available yet.",
                                  "not_implemented")
    return sorted(numbers)
