"""Stage 1: validate the URL, fetch metadata, download with yt-dlp, extract audio with ffmpeg."""
import logging
import os
from datetime import datetime, timezone

import yt_dlp
from yt_dlp.utils import DownloadCancelled, DownloadError, ExtractorError

from services.cancel import Cancelled
from services.context import StageError
from services.media import ffmpeg_path, probe, run_ffmpeg

OUTPUTS = ("source.*", "audio.wav", "audio_hq.flac", "metadata.json")
AUDIO_RATE = 16000
ytdlp_log = logging.getLogger("yt_dlp")


class _YtDlpLogger:
    """Sends yt-dlp's messages to the `yt_dlp` logger (and so to the run's log stream)."""

    def debug(self, message):
        if message.startswith("[debug] "):
            ytdlp_log.debug("%s", message)
        else:
            ytdlp_log.info("%s", message)

    def info(self, message):
        ytdlp_log.info("%s", message)

    def warning(self, message):
        ytdlp_log.warning("%s", message)

    def error(self, message):
        ytdlp_log.error("%s", message)


def parameters(ctx):
    """What decides whether an earlier extraction can be reused: the URL."""
    return {"url": ctx.url}


def human_bytes(count):
    """1536 -> '1.5 KiB'."""
    value = float(count or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _recognising_extractor(url):
    for extractor in yt_dlp.extractor.gen_extractor_classes():
        if extractor.suitable(url) and extractor.working():
            return extractor.IE_NAME
    return None


def _ydl_options(ctx, hook):
    return {
        "paths": {"home": str(ctx.episode_dir), "temp": str(ctx.episode_dir)},
        "outtmpl": {"default": "source.%(ext)s"},
        "format": ctx.options.get("format") or "bestaudio/best",
        "noplaylist": True,
        "quiet": True,
        "noprogress": True,
        "no_color": True,
        "socket_timeout": 30,
        "retries": 3,
        "logger": _YtDlpLogger(),
        "progress_hooks": [hook],
        "ffmpeg_location": ffmpeg_path(),
        "overwrites": True,
        "continuedl": False,
        "cachedir": False,
    }


def _check_limits(ctx, info):
    limits = ctx.settings.get("limits", {})
    duration = info.get("duration")
    max_duration = limits.get("max_duration_seconds")
    if duration and max_duration and duration > max_duration:
        raise StageError(f"The media lasts {duration:.0f} s, more than the limit of "
                         f"{max_duration:.0f} s (limits.max_duration_seconds).")
    size = info.get("filesize") or info.get("filesize_approx")
    max_size = limits.get("max_size_mb")
    if size and max_size and size > max_size * 1024 * 1024:
        raise StageError(f"The media is {human_bytes(size)}, more than the limit of "
                         f"{max_size} MiB (limits.max_size_mb).")


def run(ctx):
    """Download the media and make `audio.wav` (16 kHz mono) and `audio_hq.flac`."""
    ctx.sub_stage("Validating URL")
    extractor = _recognising_extractor(ctx.url)
    if extractor is None:
        raise StageError("yt-dlp does not recognise this URL.")
    ctx.log.info("URL handled by the yt-dlp extractor '%s'", extractor)

    ctx.sub_stage("Fetching metadata")

    def on_download(status):
        if ctx.cancel.cancelled:
            raise DownloadCancelled("cancelled")
        if status.get("status") != "downloading":
            return
        done = status.get("downloaded_bytes") or 0
        total = status.get("total_bytes") or status.get("total_bytes_estimate") or 0
        speed = status.get("speed")
        text = f"{human_bytes(done)} of {human_bytes(total)}" if total else human_bytes(done)
        if speed:
            text += f" at {human_bytes(speed)}/s"
        ctx.progress(done, total or None, "bytes", text)

    try:
        with yt_dlp.YoutubeDL(_ydl_options(ctx, on_download)) as ydl:
            info = ydl.extract_info(ctx.url, download=False, process=True)
            if info is None or info.get("_type") == "playlist":
                raise StageError("The URL is a playlist or has no media; give one video's URL.")
            _check_limits(ctx, info)
            ctx.set_media(duration=info.get("duration"), title=info.get("title"))
            ctx.log.info("Media: %s (%s)", info.get("title"), info.get("extractor"))
            ctx.sub_stage("Downloading media")
            info = ydl.process_ie_result(info, download=True)
    except DownloadCancelled:
        raise Cancelled() from None
    except (DownloadError, ExtractorError) as exc:
        if ctx.cancel.cancelled:
            raise Cancelled() from None
        raise StageError(f"Download failed: {yt_dlp.utils.remove_terminal_sequences(str(exc))}") from exc
    ctx.cancel.raise_if_cancelled()

    downloads = info.get("requested_downloads") or [info]
    source = downloads[0].get("filepath") or downloads[0].get("_filename")
    if not source or not os.path.isfile(source):
        raise StageError("yt-dlp finished but no media file was written.")
    size = os.path.getsize(source)
    ctx.progress(size, size, "bytes", f"{human_bytes(size)} downloaded")

    ctx.sub_stage("Extracting audio")
    source_probe = probe(source)
    if "audio" not in source_probe["streams"]:
        raise StageError("The media has no audio track.")
    duration = source_probe["duration"] or info.get("duration")
    if duration:
        ctx.set_media(duration=duration)
    wav_part, hq_part = ctx.path(".audio.wav.part"), ctx.path(".audio_hq.flac.part")
    run_ffmpeg(
        ["-i", source, "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(AUDIO_RATE),
         "-c:a", "pcm_s16le", "-f", "wav", str(wav_part),
         "-map", "0:a:0", "-vn", "-c:a", "flac", "-f", "flac", str(hq_part)],
        ctx.cancel, duration,
        lambda seconds: ctx.progress(round(seconds, 1), round(duration, 1) if duration else None,
                                     "s", f"{seconds:.0f} s of {duration or 0:.0f} s of audio"),
    )
    os.replace(wav_part, ctx.path("audio.wav"))
    os.replace(hq_part, ctx.path("audio_hq.flac"))

    ctx.sub_stage("Validating files")
    wav = probe(ctx.path("audio.wav"))
    if "audio" not in wav["streams"] or not wav["duration"]:
        raise StageError("The extracted audio.wav is empty.")
    if duration and abs(wav["duration"] - duration) > max(2.0, 0.05 * duration):
        raise StageError(f"audio.wav lasts {wav['duration']:.1f} s but the media {duration:.1f} s.")
    ctx.set_media(duration=wav["duration"])

    ctx.sub_stage("Organizing output")
    metadata = {
        "url": ctx.url,
        "webpage_url": info.get("webpage_url"),
        "id": info.get("id"),
        "title": info.get("title"),
        "uploader": info.get("uploader"),
        "upload_date": info.get("upload_date"),
        "description": (info.get("description") or "")[:5000],
        "extractor": info.get("extractor"),
        "duration": wav["duration"],
        "source_file": os.path.basename(source),
        "source_size": size,
        "audio_file": "audio.wav",
        "audio_hq_file": "audio_hq.flac",
        "audio_sample_rate": AUDIO_RATE,
        "downloaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    ctx.write_json("metadata.json", metadata)
    return [os.path.basename(source), "audio.wav", "audio_hq.flac", "metadata.json"]
