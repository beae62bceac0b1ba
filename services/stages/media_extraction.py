"""Stage 1: validate the URL, fetch metadata and download with yt-dlp, extract audio with ffmpeg.

yt-dlp runs in a child process (services/workers/download.py) so a cancel ends it at once.

With `whisper.prefer_creator_subtitles` on, the same yt-dlp extraction also fetches the
uploader's own subtitles (services/download/creator_subtitles.py) as `creator_subtitles.vtt`, and
metadata.json names their language. The request is part of `parameters()` only while the
setting is on: turning it on redoes the download once (the subtitles come from the same
extraction), and checkpoints made with it off stay valid as long as it stays off. Turning it
off again also redoes the stage, which then removes the subtitle file; stage 2 follows the
file through its own parameters. A missing or failed subtitle download is only a warning.
"""
import json
import os
from contextlib import closing
from datetime import datetime, timezone
from urllib.parse import urlsplit

from services.addresses import RefusedAddress, resolve_checked
from services.download.creator_subtitles import SUBTITLE_FILE, subtitle_request
from services.download.limits import limit_error
from services.engine.context import StageError
from services.formatting import human_bytes
from services.media.ffmpeg import ffmpeg_path, probe, run_ffmpeg
from services.workers import WorkerError, run_worker
from services.workers.download import DOWNLOAD_SETTINGS_ENV

OUTPUTS = ("source.*", "thumbnail.*", "audio.wav", "audio_hq.flac", "metadata.json",
           SUBTITLE_FILE)
AUDIO_RATE = 16000


def parameters(ctx):
    """What decides whether an earlier extraction can be reused: the URL, and the creator's
    subtitles when the run asks for them."""
    params = {"url": ctx.url}
    request = subtitle_request(ctx.settings)
    if request is not None:
        params["creator_subtitles"] = request
    return params


def recognising_extractor(url):
    """The name of the first working yt-dlp extractor that accepts `url`, or None."""
    import yt_dlp

    for extractor in yt_dlp.extractor.gen_extractor_classes():
        if extractor.suitable(url) and extractor.working():
            return extractor.IE_NAME
    return None


def _worker_settings(ctx):
    """The `download` settings (with this run's format, when it names one) for the worker."""
    section = dict(ctx.settings.get("download") or {})
    return {DOWNLOAD_SETTINGS_ENV: json.dumps({
        "download": section, "data_dir": ctx.settings.get("data_dir"),
        "block_private": bool((ctx.settings.get("limits") or {}).get("block_private_networks")),
        "creator_subtitles": subtitle_request(ctx.settings)})}


def _download(ctx):
    """Run the download worker; returns (info, source path, creator subtitles or None)."""
    limits = ctx.settings.get("limits", {})
    args = ["--url", ctx.url, "--dir", ctx.episode_dir, "--ffmpeg", ffmpeg_path(),
            "--max-duration", limits.get("max_duration_seconds") or 0,
            "--max-size-mb", limits.get("max_size_mb") or 0]
    info, source, subtitles = None, None, None
    try:
        with closing(run_worker("download", args, ctx.cancel, "yt_dlp",
                                env=_worker_settings(ctx))) as messages:
            for message in messages:
                kind = message["event"]
                if kind == "info":
                    info = message
                    ctx.set_media(duration=info.get("duration"), title=info.get("title"))
                    ctx.log.info("Media: %s (%s)", info.get("title"), info.get("extractor"))
                    ctx.sub_stage("Downloading media")
                elif kind == "progress":
                    done, total, speed = message["downloaded"], message["total"], message["speed"]
                    text = f"{human_bytes(done)} of {human_bytes(total)}" if total else human_bytes(done)
                    if speed:
                        text += f" at {human_bytes(speed)}/s"
                    ctx.progress(done, total or None, "bytes", text)
                elif kind == "subtitles":
                    subtitles = {"language": message["language"], "file": message["file"]}
                    ctx.log.info("The uploader's subtitles (%s) saved as %s",
                                 subtitles["language"], subtitles["file"])
                elif kind == "thumbnail":
                    ctx.log.info("The video's thumbnail saved as %s",
                                 os.path.basename(message["path"]))
                elif kind == "downloaded":
                    source = message["path"]
    except WorkerError as exc:
        raise StageError(str(exc), exc.code) from exc
    if info is None or not source or not os.path.isfile(source):
        raise StageError("yt-dlp finished but no media file was written.")
    return info, source, subtitles


def _number(value):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _creator_chapters(chapters):
    """The uploader's chapters from yt-dlp ([{start, end, title}]), or []."""
    result = []
    for item in chapters if isinstance(chapters, list) else []:
        if isinstance(item, dict) and _number(item.get("start_time")) is not None:
            result.append({"start": _number(item["start_time"]), "end": _number(item.get("end_time")),
                           "title": str(item.get("title") or "")[:200]})
    return result


def _heatmap(heatmap):
    """YouTube's "most replayed" curve from yt-dlp ([{start, end, value}]), or []."""
    result = []
    for item in heatmap if isinstance(heatmap, list) else []:
        if isinstance(item, dict) and None not in (_number(item.get("start_time")),
                                                   _number(item.get("end_time")),
                                                   _number(item.get("value"))):
            result.append({"start": item["start_time"], "end": item["end_time"],
                           "value": item["value"]})
    return result


def _check_url(ctx):
    """The URL has a yt-dlp extractor and its host resolves to an address that may be fetched."""
    extractor = recognising_extractor(ctx.url)
    if extractor is None:
        raise StageError("yt-dlp does not recognise this URL.")
    ctx.log.info("URL handled by the yt-dlp extractor '%s'", extractor)
    try:
        resolve_checked(urlsplit(ctx.url).hostname or "", None,
                        bool((ctx.settings.get("limits") or {}).get("block_private_networks")))
    except RefusedAddress as exc:
        raise StageError(exc.message, exc.code) from None


def run(ctx):
    """Download the media and make `audio.wav` (16 kHz mono) and `audio_hq.flac`."""
    ctx.sub_stage("Validating URL")
    _check_url(ctx)

    ctx.sub_stage("Fetching metadata")
    ctx.path(SUBTITLE_FILE).unlink(missing_ok=True)  # from an earlier download
    info, source, subtitles = _download(ctx)
    size = os.path.getsize(source)
    ctx.progress(size, size, "bytes", f"{human_bytes(size)} downloaded")

    ctx.sub_stage("Extracting audio")
    source_probe = probe(source)
    if "audio" not in source_probe["streams"]:
        raise StageError("The media has no audio track.")
    duration = source_probe["duration"] or info.get("duration")
    limits = ctx.settings.get("limits", {})
    problem = limit_error(duration, size, limits.get("max_duration_seconds"), limits.get("max_size_mb"))
    if problem:  # sites that report no length in their metadata are checked here
        raise StageError(problem)
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
    # Compared with the audio track's own length: a video whose picture runs on after the
    # sound ends is fine; the gap to the container is only noted.
    expected = source_probe["audio_duration"] or duration
    if expected and abs(wav["duration"] - expected) > max(2.0, 0.05 * expected):
        raise StageError(f"audio.wav lasts {wav['duration']:.1f} s but the media's audio track "
                         f"{expected:.1f} s.")
    if duration and abs(duration - wav["duration"]) > max(2.0, 0.05 * duration):
        ctx.log.info("The media lasts %.1f s and its audio track %.1f s; the audio is what the "
                     "pipeline uses", duration, wav["duration"])
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
        "chapters": _creator_chapters(info.get("chapters")),
        "heatmap": _heatmap(info.get("heatmap")),
        "extractor": info.get("extractor"),
        "duration": wav["duration"],
        "source_file": os.path.basename(source),
        "source_size": size,
        "audio_file": "audio.wav",
        "audio_hq_file": "audio_hq.flac",
        "audio_sample_rate": AUDIO_RATE,
        "creator_subtitles": subtitles,
        "thumbnail_file": next((p.name for p in ctx.episode_dir.glob("thumbnail.*")), None),
        "downloaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    ctx.write_json("metadata.json", metadata)
    outputs = [os.path.basename(source), "audio.wav", "audio_hq.flac", "metadata.json"]
    outputs += [path.name for path in ctx.episode_dir.glob("thumbnail.*")]
    return outputs + ([SUBTITLE_FILE] if subtitles else [])
