"""The cookies file (Netscape format) that lets yt-dlp act as a signed-in browser.

Its contents are secrets: they are read by yt-dlp, counted for the doctor, and otherwise only
used to scrub log lines and error messages. Neither the values nor the file's path are ever
logged, stored in an event or shown on a page.
"""
import io
import os
import shutil
import tempfile
from contextlib import contextmanager, redirect_stderr
from pathlib import Path

REDACTED = "[redacted]"
MIN_SECRET = 8          # shorter values ("1", "YES") would garble unrelated text
YOUTUBE_DOMAINS = ("youtube.com", "google.com")


class CookieFileError(Exception):
    """The cookies file cannot be used; the message names no path and no value."""


def load(path):
    """(cookie jar, number of lines skipped as malformed) of a Netscape cookies file.

    yt-dlp prints each line it skips, content and all, to stderr; that output is kept here.
    """
    from yt_dlp.cookies import YoutubeDLCookieJar

    jar = YoutubeDLCookieJar(os.fspath(path))
    printed = io.StringIO()
    try:
        with redirect_stderr(printed):
            jar.load(ignore_discard=True, ignore_expires=True)
    except FileNotFoundError:
        raise CookieFileError("The cookies file does not exist.") from None
    except PermissionError:
        raise CookieFileError("The cookies file cannot be read (permissions).") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # http.cookiejar.LoadError is an OSError
        raise CookieFileError("The cookies file is not in Netscape format (the first line should be "
                              "'# Netscape HTTP Cookie File'); export it again with a cookies.txt "
                              "browser extension.") from exc
    return jar, printed.getvalue().count("skipping cookie file entry")


def summary(path):
    """{"count", "youtube", "skipped", "loose_permissions"} of a readable cookies file."""
    jar, skipped = load(path)
    cookies = list(jar)
    youtube = sum(1 for c in cookies if c.domain.lstrip(".").endswith(YOUTUBE_DOMAINS))
    mode = Path(path).stat().st_mode
    return {"count": len(cookies), "youtube": youtube, "skipped": skipped,
            "loose_permissions": bool(mode & 0o077)}


class Redactor:
    """Replaces the cookies file's values and its path in text with placeholders."""

    def __init__(self, secrets=(), path=None):
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)
        self.paths = [str(path)] if path else []

    @classmethod
    def for_file(cls, path):
        """A redactor for a cookies file (that may be missing or malformed)."""
        if not path:
            return cls()
        secrets = []
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    line = line.rstrip("\r\n")
                    fields = line.split("\t")
                    if len(fields) >= 7:
                        secrets.append(fields[6])
                    elif line.strip() and not line.startswith("#"):
                        # a line yt-dlp cannot read may still hold a value: hide all its words
                        secrets.extend([line.strip(), *line.split()])
        except OSError:
            pass
        return cls(secrets, path)

    def __call__(self, text):
        if not isinstance(text, str):
            return text
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for path in self.paths:
            if path in text:
                text = text.replace(path, "the cookies file")
        return text


@contextmanager
def private_copy(path):
    """A copy of the cookies file in a private temporary folder, removed afterwards.

    yt-dlp writes cookies back to its cookie file when it ends; the copy keeps the user's file
    as it is and keeps two downloads from writing it at once.
    """
    if not path:
        yield None
        return
    folder = tempfile.mkdtemp(prefix="cookies-")
    try:
        copy = Path(folder) / "cookies.txt"
        try:
            shutil.copyfile(path, copy)
        except FileNotFoundError:
            raise CookieFileError("The cookies file does not exist.") from None
        except OSError:
            raise CookieFileError("The cookies file cannot be read.") from None
        os.chmod(copy, 0o600)
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)
