"""Worker: fetch metadata and download one URL with yt-dlp (run as a child process).

Messages: info {title, duration, ...} → subtitles {language, file} (when asked for and found)
→ progress {downloaded, total, speed}* → downloaded {path, size}.
The `download` settings arrive as JSON in the DOWNLOAD_SETTINGS_ENV variable (not on the
command line, which other users of the machine can read).
"""
import argparse
import json
import logging
import os
import time

import yt_dlp
from yt_dlp.networking.exceptions import RequestError
from yt_dlp.utils import DownloadError, ExtractorError, remove_terminal_sequences

from services.download import cookies, creator_subtitles, guard, thumbnail
from services.download.errors import explain, live_not_ended
from services.download.limits import limit_error
from services.download.options import DownloadSettingsError, cookies_path, ytdlp_options
from services.workers import WorkerError, emit, worker_main

log = logging.getLogger("yt_dlp")
DOWNLOAD_SETTINGS_ENV = "YTDLP_WORKER_SETTINGS"
PROGRESS_INTERVAL = 0.1
INFO_FIELDS = ("id", "title", "duration", "extractor", "webpage_url", "uploader", "upload_date",
               "description", "filesize", "filesize_approx", "live_status", "chapters", "heatmap")
LIVE_STATES = ("is_live", "is_upcoming")


class YtDlpLogger:
    """Sends yt-dlp's messages to the `yt_dlp` logger; its debug lines too when `verbose`."""

    def __init__(self, verbose=False):
        self.debug_level = logging.INFO if verbose else logging.DEBUG

    def debug(self, message):
        log.log(self.debug_level if message.startswith("[debug] ") else logging.INFO, "%s", message)

    def info(self, message):
        log.info("%s", message)

    def warning(self, message):
        log.warning("%s", message)

    def error(self, message):
        log.error("%s", message)


def _settings():
    try:
        settings = json.loads(os.environ.get(DOWNLOAD_SETTINGS_ENV) or "{}")
    except ValueError:
        settings = {}
    return settings if isinstance(settings, dict) else {}


def _progress_hook(args):
    last = [0.0]

    def on_progress(status):
        if status.get("status") != "downloading":
            return
        total = status.get("total_bytes") or status.get("total_bytes_estimate") or 0
        # The bytes received count too: a server that sends no Content-Length (or a wrong
        # one) cannot fill the disk past the limit.
        received = status.get("downloaded_bytes") or 0
        problem = limit_error(None, max(total, received), args.max_duration, args.max_size_mb)
        if problem:
            raise WorkerError(problem, "too_large")
        now = time.monotonic()
        if now - last[0] < PROGRESS_INTERVAL:
            return
        last[0] = now
        emit("progress", downloaded=status.get("downloaded_bytes") or 0, total=total,
             speed=status.get("speed"))

    return on_progress


def download(args, worker):
    settings = _settings()
    section = settings.get("download") or {}
    data_dir = settings.get("data_dir") or args.dir
    guard.install(bool(settings.get("block_private")), section.get("proxy"))
    try:
        cookie_file = cookies_path(section, data_dir)
    except DownloadSettingsError as exc:
        raise WorkerError(str(exc), "bad_setting") from exc
    if cookie_file is not None and not cookie_file.is_file():
        cookie_file = None
    worker.set_redactor(cookies.Redactor.for_file(cookie_file))
    if cookie_file is not None:
        try:
            _, skipped = cookies.load(cookie_file)
        except cookies.CookieFileError as exc:
            raise WorkerError(str(exc), "cookies_invalid") from exc
        log.info("Using the cookies file from the data folder")
        if skipped:
            log.warning("%d line(s) of the cookies file are not in Netscape format and were "
                        "skipped", skipped)

    with cookies.private_copy(cookie_file) as cookie_copy:
        try:
            options = ytdlp_options(section, data_dir, cookie_copy)
        except DownloadSettingsError as exc:
            raise WorkerError(str(exc), "bad_setting") from exc
        options.update({
            "paths": {"home": args.dir, "temp": args.dir},
            "outtmpl": {"default": "source.%(ext)s"},
            "quiet": True,
            "noprogress": True,
            "no_color": True,
            "logger": YtDlpLogger(bool(section.get("verbose"))),
            "progress_hooks": [_progress_hook(args)],
            "ffmpeg_location": args.ffmpeg,
            "overwrites": True,
            "continuedl": False,
        })
        deno = options["js_runtimes"]["deno"].get("path")
        log.info("JavaScript runtime for YouTube: %s", deno or "none found (run `python run.py doctor`)")
        try:
            with yt_dlp.YoutubeDL(options) as ydl:
                info = ydl.extract_info(args.url, download=False)
                if info is None or info.get("_type") == "playlist":
                    raise WorkerError("The URL is a playlist or has no media; give one video's URL.",
                                      "playlist")
                emit("info", **{field: info.get(field) for field in INFO_FIELDS})
                if info.get("is_live") or info.get("live_status") in LIVE_STATES:
                    explanation = live_not_ended()
                    raise WorkerError(explanation.message, explanation.code)
                problem = limit_error(info.get("duration"),
                                      info.get("filesize") or info.get("filesize_approx"),
                                      args.max_duration, args.max_size_mb)
                if problem:
                    raise WorkerError(problem, "too_large")
                creator_subtitles.fetch(options, info, args.dir, settings.get("creator_subtitles"))
                info = ydl.process_ie_result(info, download=True)
                picture = thumbnail.fetch(ydl, info, args.dir, (RequestError, OSError))
                if picture is not None:
                    emit("thumbnail", path=str(picture))
        except guard.FetchRefused as exc:
            raise WorkerError(exc.message, exc.code) from exc
        except (DownloadError, ExtractorError) as exc:
            refused = guard.refusal()
            if refused is not None:   # yt-dlp reported it as a failed download
                raise WorkerError(refused.message, refused.code) from exc
            log.warning("yt-dlp: %s", remove_terminal_sequences(str(exc)))
            explanation = explain(exc, args.url, cookies_in_use=cookie_copy is not None)
            raise WorkerError(explanation.message, explanation.code) from exc
    requested = (info.get("requested_downloads") or [info])[0]
    path = requested.get("filepath") or requested.get("_filename")
    if not path:
        raise WorkerError("yt-dlp finished but wrote no media file.")
    emit("downloaded", path=path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--ffmpeg", default=None)
    parser.add_argument("--max-duration", type=float, default=0)
    parser.add_argument("--max-size-mb", type=float, default=0)
    with worker_main() as worker:
        download(parser.parse_args(), worker)


if __name__ == "__main__":
    main()
