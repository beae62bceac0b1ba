"""The uploader's own subtitles: whether a run wants them, and fetching them with yt-dlp.

The download worker calls `fetch` with the info it has already extracted: a second yt-dlp
pass over a copy of it (no second extraction, no media download) writes the normal
subtitles, never automatic captions, as WebVTT to `creator_subtitles.vtt`. Every failure is a
logged warning; the media download goes on and stage 2 transcribes instead.
"""
import copy
import glob
import logging
from pathlib import Path

from services.download.options import creator_subtitle_language, creator_subtitle_options
from services.media.subtitles import parse_vtt
from services.workers import emit

SUBTITLE_FILE = "creator_subtitles.vtt"
MAX_SUBTITLE_BYTES = 20 * 1024 * 1024
log = logging.getLogger("yt_dlp")


def prefers_creator_subtitles(settings):
    """Whether the run's settings (`whisper.prefer_creator_subtitles`) ask for them."""
    return (settings.get("whisper") or {}).get("prefer_creator_subtitles") is True


def subtitle_request(settings):
    """{"language": code or None} when the run prefers the creator's subtitles, else None.

    The language is the run's whisper language (None: English first, then any).
    """
    if not prefers_creator_subtitles(settings):
        return None
    language = (settings.get("whisper") or {}).get("language")
    return {"language": language if isinstance(language, str) and language.strip() else None}


def fetch(options, info, directory, request):
    """Write the creator's subtitles of `info` (as extract_info returned it, before the media
    download) to `directory`/creator_subtitles.vtt with the media download's yt-dlp `options`
    (so its progress hooks report the bytes). Sends a `subtitles {language, file}` message
    and returns the language, or None."""
    if not isinstance(request, dict):
        return None
    import yt_dlp
    from yt_dlp.utils import YoutubeDLError

    wanted = request.get("language")
    language = creator_subtitle_language(info.get("subtitles"), wanted)
    if language is None:
        log.info("The uploader offers no subtitles%s; the speech will be transcribed",
                 f" in '{wanted}'" if wanted else "")
        return None
    folder = Path(directory)
    log.info("Downloading the uploader's subtitles (%s)", language)
    params = {**options, **creator_subtitle_options(language, folder)}
    params.pop("color", None)  # yt-dlp derived it from no_color in `options`; both make it warn
    try:
        with yt_dlp.YoutubeDL(params) as ydl:
            ydl.process_ie_result(copy.deepcopy(info), download=True)
    except (YoutubeDLError, OSError, ValueError) as exc:
        log.warning("yt-dlp: %s", exc)
    kept = _keep(folder, language)
    if kept:
        emit("subtitles", language=kept, file=SUBTITLE_FILE)
    return kept


def _keep(folder, language):
    """Move the written file to SUBTITLE_FILE when it holds cues; remove the pass's leftovers."""
    written = folder / f"creator_subtitles.{language}.vtt"
    other_formats = [path for path in folder.glob(f"creator_subtitles.{glob.escape(language)}.*")
                     if path.suffix != ".part"]
    problem = "could not be converted to WebVTT" if other_formats else "were not downloaded"
    try:
        if written.is_file() and written.stat().st_size > MAX_SUBTITLE_BYTES:
            problem = f"are larger than {MAX_SUBTITLE_BYTES // 2 ** 20} MB"
        elif written.is_file():
            problem = "hold no WebVTT cues"
            if parse_vtt(written.read_text(encoding="utf-8", errors="replace")):
                written.replace(folder / SUBTITLE_FILE)
                problem = None
    except OSError as exc:
        problem = f"could not be read ({exc})"
    for leftover in folder.glob("creator_subtitles.*"):
        if leftover.name != SUBTITLE_FILE:
            leftover.unlink(missing_ok=True)
    if problem:
        log.warning("The uploader's subtitles (%s) %s; the speech will be transcribed",
                    language, problem)
        return None
    return language
