"""The configuration's schema: one pydantic model per section, each refusing unknown keys.

The models only check; `load_settings` keeps the values as written (checkpoints compare them:
30 must not become 30.0). `bounds` gives a number's limits, which the presets share."""
import logging
import os
import re
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from services.download.options import MAX_RETRIES, MAX_SLEEP
from services.podcast.channel import EMAIL, parse_category

MAX_BATCH = 10_000   # entries of one batch (playlist, channel, feed or URL list)
RUNNERS = ("thread", "rq")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
LEVELS = tuple(logging.getLevelNamesMapping())
COMPUTE_TYPES = ("default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16",
                 "int16", "float16", "bfloat16", "float32")
LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})?")
BITRATE = re.compile(r"[1-9][0-9]{0,6}[kKM]?")
WHOLE_TEXT = re.compile(r"[+-]?[0-9]{1,9}")
DAY = 86_400


def _whole_text(value):
    """Whole numbers written as text ("5000") or as 5000.0, which int() has always taken."""
    if isinstance(value, str) and WHOLE_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    return _integral(value)


def _integral(value):
    """A float without a fraction (3.0) as the whole number it is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _secret_text(value, key):
    """A token or key: text, or a number YAML read from unquoted digits; never true/false."""
    if isinstance(value, bool):
        raise ValueError(f"must be text, not true or false; put it in quotes, e.g. "
                         f"{key}: \"my-token\"")
    if value is not None and not isinstance(value, (str, int, float)):
        raise ValueError("must be text (a single value, in quotes)")
    return value


Flag = Optional[bool]
Text = Optional[str]
Name = Annotated[str, Field(min_length=1, max_length=2000)]
Seconds = Annotated[float, Field(ge=0, le=DAY)]
Port = Annotated[int, BeforeValidator(_whole_text), Field(ge=1, le=65535)]
Retries = Annotated[int, BeforeValidator(_integral), Field(ge=0, le=MAX_RETRIES)]
Sleep = Annotated[float, Field(ge=0, le=MAX_SLEEP)]
# Shared with the presets (services/presets.py FIELDS).
BeamSize = Annotated[int, Field(ge=1, le=10)]
ClipCount = Annotated[int, Field(ge=1, le=20)]
ClipMin = Annotated[float, Field(ge=1, le=600)]
ClipMax = Annotated[float, Field(ge=2, le=1800)]
MaxPause = Annotated[float, Field(ge=0.3, le=30)]
Lufs = Annotated[float, Field(ge=-30, le=-10)]
MusicLevel = Annotated[float, Field(ge=-40, le=0)]
EpisodeMode = Literal["full", "highlights"]
AudioFormat = Literal["m4a", "mp3"]


class Section(BaseModel):
    """A section of config.yaml: strict types, finite numbers, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Server(Section):
    """`server`: where the dashboard listens and who may use it."""

    host: Name
    port: Port
    auth_token: Any
    allowed_hosts: Optional[list[str]]

    @field_validator("auth_token")
    @classmethod
    def _token(cls, value):
        return _secret_text(value, "auth_token")


class Whisper(Section):
    """`whisper`: the speech model and how it decodes."""

    model: Name
    models_dir: Annotated[str, Field(min_length=1, max_length=2000, pattern="^[^\x00]+$")]
    device: Literal["cpu", "cuda", "auto"]
    compute_type: Literal[COMPUTE_TYPES]
    cpu_threads: Optional[Annotated[int, Field(ge=0, le=1024)]]
    beam_size: BeamSize
    language: Text
    condition_on_previous_text: Flag
    vad_filter: Flag
    temperature_fallback: Flag
    word_timestamps: Flag
    prefer_creator_subtitles: Flag

    @field_validator("language")
    @classmethod
    def _language(cls, value):
        if value and not LANGUAGE.fullmatch(value):
            raise ValueError(f"must be a language code such as en or de, or null to detect "
                             f"(got {value[:40]!r})")
        return value


class Limits(Section):
    """`limits`: the largest media, uploads and queue."""

    max_duration_seconds: Optional[Annotated[float, Field(ge=0)]]
    max_size_mb: Optional[Annotated[float, Field(ge=0)]]
    max_asset_mb: Optional[Annotated[float, Field(gt=0)]]
    max_queued_runs: Optional[Annotated[int, Field(ge=1)]]
    block_private_networks: Flag


class Download(Section):
    """`download`: the types; services/download/options.py check_settings checks the rest."""

    format: Annotated[str, Field(min_length=1, max_length=300)]
    cookies_file: Text
    proxy: Text
    rate_limit: Any
    retries: Retries
    fragment_retries: Retries
    retry_sleep_initial: Sleep
    retry_sleep_max: Sleep
    socket_timeout: Annotated[int, BeforeValidator(_integral), Field(ge=1, le=600)]
    player_client: Any
    js_runtime: Text
    verbose: Flag


class Analysis(Section):
    """`analysis`: sentence vectors and chapter lengths."""

    vectors: Literal["tfidf", "wordllama"]
    min_chapter_seconds: Seconds
    max_chapter_seconds: Annotated[float, Field(gt=0, le=DAY)]
    window_seconds: Annotated[float, Field(gt=0, le=3600)]

    @model_validator(mode="after")
    def _order(self):
        if self.min_chapter_seconds >= self.max_chapter_seconds:
            raise ValueError("max_chapter_seconds must be longer than min_chapter_seconds")
        return self


class Segments(Section):
    """`segments`: the highlight clips."""

    count: ClipCount
    min_seconds: ClipMin
    max_seconds: ClipMax
    min_gap_seconds: Seconds
    padding_seconds: Annotated[float, Field(ge=0, le=10)]
    review: Flag

    @model_validator(mode="after")
    def _order(self):
        if self.min_seconds >= self.max_seconds:
            raise ValueError("max_seconds must be longer than min_seconds")
        return self


class Llm(Section):
    """`llm`: the optional chat endpoint."""

    url: Text
    model: Text
    api_key: Any
    timeout: Optional[Annotated[float, Field(gt=0, le=3600)]]
    enabled: Flag = None

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, value):
        return _secret_text(value, "api_key")

    @field_validator("url")
    @classmethod
    def _url(cls, value):
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL such as http://127.0.0.1:8080/v1")
        return value


class Production(Section):
    """`production`: the episode, its clips and branding."""

    episode_mode: EpisodeMode
    max_pause_seconds: MaxPause
    pause_keep_seconds: Annotated[float, Field(ge=0, le=30)]
    format: AudioFormat
    bitrate: Any
    clip_fade_seconds: Annotated[float, Field(ge=0, le=10)]
    crossfade_seconds: Annotated[float, Field(ge=0, le=60)]
    leveling: Flag
    intro: Text
    outro: Text
    music_bed: Text
    music_level_db: MusicLevel
    music_fade_seconds: Annotated[float, Field(ge=0, le=60)]
    cover: Text

    @field_validator("bitrate")
    @classmethod
    def _bitrate(cls, value):
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not BITRATE.fullmatch(
                str(value)):
            raise ValueError("must be a bit rate such as 128k or 192k")
        return value


class Loudness(Section):
    """`loudness`: the target the episode and clips are normalised to."""

    integrated_lufs: Lufs
    true_peak_dbtp: Annotated[float, Field(ge=-9, le=0)]


class Logging(Section):
    """`logging`: the lowest level streamed to a run's log."""

    level: Text

    @field_validator("level")
    @classmethod
    def _level(cls, value):
        if value is not None and value.strip().upper() not in LEVELS:
            raise ValueError(f"must be one of {', '.join(LEVELS)} (got {value[:40]!r})")
        return value


class Batches(Section):
    """`batches`: playlists, channels, feeds and URL lists."""

    max_entries: Annotated[int, Field(ge=1, le=MAX_BATCH)]


class SocketIO(Section):
    """`socketio`: Flask-SocketIO's server."""

    async_mode: Optional[Literal["threading", "eventlet", "gevent", "gevent_uwsgi"]]
    message_queue: Text


class Feed(Section):
    """`feed`: the podcast feed's channel, its token and its episodes' dates."""

    title: Text
    description: Text
    author: Text
    owner_name: Text
    owner_email: Text
    language: Text
    category: Text
    image: Text
    explicit: Flag
    locked: Flag
    public_url: Text
    token: Any
    pub_date: Optional[Literal["published", "uploaded"]]

    @field_validator("category")
    @classmethod
    def _category(cls, value):
        if value:
            parse_category(value)
        return value

    @field_validator("owner_email")
    @classmethod
    def _owner_email(cls, value):
        if value and not EMAIL.fullmatch(value.strip()):
            raise ValueError("must be an e-mail address such as podcasts@example.com")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value):
        if value and not LANGUAGE.fullmatch(value.strip()):
            raise ValueError("must be a language code such as en or en-GB")
        return value

    @field_validator("image", "public_url")
    @classmethod
    def _web_address(cls, value):
        if value and (not re.fullmatch(r"https?://[^\s?#]+(?:\?[^\s#]*)?", value.strip())
                      or len(value) > 2000):
            raise ValueError("must be an http:// or https:// address")
        return value

    @field_validator("token")
    @classmethod
    def _token(cls, value):
        return _secret_text(value, "feed.token")


class PresetEntry(BaseModel):
    """One entry of `presets`: the fields of services/presets.py FIELDS, read as it reads them."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: Annotated[str, Field(min_length=1, max_length=80)]
    description: Optional[Annotated[str, Field(max_length=500)]] = None
    stages: Any
    whisper_model: Text = None
    beam_size: Optional[BeamSize] = None
    language: Text = None
    vad_filter: Flag = None
    prefer_creator_subtitles: Flag = None
    clip_count: Optional[ClipCount] = None
    clip_min_seconds: Optional[ClipMin] = None
    clip_max_seconds: Optional[ClipMax] = None
    review_segments: Flag = None
    episode_mode: Optional[EpisodeMode] = None
    max_pause_seconds: Optional[MaxPause] = None
    loudness_lufs: Optional[Lufs] = None
    output_format: Optional[AudioFormat] = None
    intro: Text = None
    outro: Text = None
    music_bed: Text = None
    music_level_db: Optional[MusicLevel] = None
    llm: Flag = None

    @field_validator("stages")
    @classmethod
    def _stages(cls, value):
        from services.input_checks import ValidationError as StagesInvalid
        from services.stages import parse_stages
        try:
            parse_stages(value)
        except StagesInvalid as exc:
            raise ValueError(exc.message) from None
        return value


class Settings(Section):
    """The whole configuration: top-level keys and one model per section."""

    server: Server
    data_dir: Any
    database_url: Text
    max_concurrent_runs: Annotated[int, BeforeValidator(_whole_text), Field(ge=1)]
    runner: Text
    redis_url: Text
    whisper: Whisper
    limits: Limits
    download: Download
    analysis: Analysis
    segments: Segments
    llm: Llm
    production: Production
    loudness: Loudness
    logging: Logging
    batches: Batches
    presets: Optional[list[PresetEntry]]
    socketio: SocketIO
    feed: Feed

    @field_validator("data_dir")
    @classmethod
    def _data_dir(cls, value):
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or "\x00" in value:
            raise ValueError("must be the path of a folder")
        return value

    @field_validator("runner")
    @classmethod
    def _runner(cls, value):
        if (value or "thread").strip().lower() not in RUNNERS:
            raise ValueError(f"must be one of {', '.join(RUNNERS)} (got {value[:40]!r})")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value):
        if value and not value.startswith(REDIS_SCHEMES):
            raise ValueError("must be a Redis URL such as redis://127.0.0.1:6379/0")
        return value
