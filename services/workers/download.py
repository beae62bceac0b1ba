"""Worker: fetch metadata and download one URL with yt-dlp (run as a child process).

Messages: info {title, duration, ...} → progress {downloaded, total, speed}* → downloaded {path, size}.
"""
import argparse
import logging
import time

import yt_dlp
from yt_dlp.utils import DownloadError, ExtractorError, remove_terminal_sequences

from services.limits import limit_error
from services.workers import WorkerError, emit, worker_main

log = logging.getLogger("yt_dlp")
PROGRESS_INTERVAL = 0.1
INFO_FIELDS = ("id", "title", "duration", "extractor", "webpage_url", "uploader", "upload_date",
               "description", "filesize", "filesize_approx")


class YtDlpLogger:
    """Sends yt-dlp's messages to the `yt_dlp` logger."""

    def debug(self, message):
        log.log(logging.DEBUG if message.startswith("[debug] ") else logging.INFO, "%s", message)

    def info(self, message):
        log.info("%s", message)

    def warning(self, message):
        log.warning("%s", message)

    def error(self, message):
        log.error("%s", message)


def download(args):
    last = [0.0]

    def on_progress(status):
        if status.get("status") != "downloading":
            return
        total = status.get("total_bytes") or status.get("total_bytes_estimate") or 0
        problem = limit_error(None, total, args.max_duration, args.max_size_mb)
        if problem:
            raise WorkerError(problem)
        now = time.monotonic()
        if now - last[0] < PROGRESS_INTERVAL:
            return
        last[0] = now
        emit("progress", downloaded=status.get("downloaded_bytes") or 0, total=total,
             speed=status.get("speed"))

    options = {
        "paths": {"home": args.dir, "temp": args.dir},
        "outtmpl": {"default": "source.%(ext)s"},
        "format": args.format,
        "noplaylist": True,
        "quiet": True,
        "noprogress": True,
        "no_color": True,
        "socket_timeout": 30,
        "retries": 3,
        "logger": YtDlpLogger(),
        "progress_hooks": [on_progress],
        "ffmpeg_location": args.ffmpeg,
        "overwrites": True,
        "continuedl": False,
        "cachedir": False,
    }
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(args.url, download=False)
            if info is None or info.get("_type") == "playlist":
                raise WorkerError("The URL is a playlist or has no media; give one video's URL.")
            emit("info", **{field: info.get(field) for field in INFO_FIELDS})
            problem = limit_error(info.get("duration"), info.get("filesize") or info.get("filesize_approx"),
                                  args.max_duration, args.max_size_mb)
            if problem:
                raise WorkerError(problem)
            info = ydl.process_ie_result(info, download=True)
    except (DownloadError, ExtractorError) as exc:
        raise WorkerError(f"Download failed: {remove_terminal_sequences(str(exc))}") from exc
    requested = (info.get("requested_downloads") or [info])[0]
    path = requested.get("filepath") or requested.get("_filename")
    if not path:
        raise WorkerError("yt-dlp finished but wrote no media file.")
    emit("downloaded", path=path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--format", default="bestaudio/best")
    parser.add_argument("--ffmpeg", default=None)
    parser.add_argument("--max-duration", type=float, default=0)
    parser.add_argument("--max-size-mb", type=float, default=0)
    with worker_main():
        download(parser.parse_args())


if __name__ == "__main__":
    main()
