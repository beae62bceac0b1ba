"""Chapters, tags and cover art inside an episode file (.m4a or .mp3), the audio copied as is.

ffmpeg writes everything from an ffmetadata file (`;FFMETADATA1`, one `[CHAPTER]` per chapter in
milliseconds): in an .m4a the iTunes tags, the `covr` picture, and the chapters both as a
QuickTime chapter track (what Apple's apps and libavformat read) and as a Nero `chpl` list
(what many other players read); in an .mp3 ID3v2.3 text frames, `CHAP`/`CTOC` chapters and an
`APIC` front cover. ffmpeg keeps an mp3's comment as a `TXXX:comment` frame, which players do
not show, so the comment is added afterwards as a `COMM` frame, spliced into ffmpeg's tag.

A Nero chapter title holds at most 255 bytes, and ffmpeg cuts longer ones in the middle of a
character (mutagen then cannot read the file), so titles are shortened to fit first. A
QuickTime chapter track always starts at 0: a first chapter given later reads as starting at 0
in an .m4a through libavformat, while its `chpl` and an mp3's `CHAP` keep the time given.
"""
import math
import os
import re
import shutil
import struct
import tempfile
import unicodedata

import av
from mutagen import MutagenError
from mutagen.id3 import ID3, ID3NoHeaderError, PictureType
from mutagen.mp4 import MP4, MP4Cover

from services.media.ffmpeg import MediaError, probe, run_ffmpeg

FORMATS = {".m4a": ["-movflags", "+faststart", "-f", "ipod"],
           ".mp3": ["-id3v2_version", "3", "-f", "mp3"]}
TAG_KEYS = ("title", "artist", "album", "date", "comment", "genre", "language")
MP4_KEYS = {"title": "\xa9nam", "artist": "\xa9ART", "album": "\xa9alb", "date": "\xa9day",
            "comment": "\xa9cmt", "genre": "\xa9gen"}
ID3_KEYS = {"title": "TIT2", "artist": "TPE1", "album": "TALB", "date": "TDRC", "genre": "TCON",
            "language": "TLAN"}
CHAPTER_TITLE_BYTES = 255
PICTURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
MP4_PICTURES = {MP4Cover.FORMAT_JPEG: "image/jpeg", MP4Cover.FORMAT_PNG: "image/png"}
DATE = re.compile(r"^(\d{4})(-\d{2}-\d{2})?")
# ISO 639-1 to ISO 639-2/T for the languages most episodes are in; three-letter codes pass.
LANGUAGES = {"ar": "ara", "cs": "ces", "da": "dan", "de": "deu", "el": "ell", "en": "eng",
             "es": "spa", "fa": "fas", "fi": "fin", "fr": "fra", "he": "heb", "hi": "hin",
             "hu": "hun", "id": "ind", "it": "ita", "ja": "jpn", "ko": "kor", "nb": "nob",
             "nl": "nld", "no": "nor", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus",
             "sv": "swe", "th": "tha", "tr": "tur", "uk": "ukr", "vi": "vie", "zh": "zho"}


def clean_value(text):
    """`text` with what a tag cannot hold removed: control characters (line breaks kept, as
    `\\n`), lone surrogates and byte-order marks; surrounding space stripped."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return "".join(ch for ch in text
                   if ch == "\n" or not (unicodedata.category(ch) in ("Cc", "Cs")
                                         or ch == "\ufeff")).strip()


def escape_value(text):
    """`text` for an ffmetadata file: `=`, `;`, `#`, `\\` and line breaks escaped."""
    return re.sub(r"([=;#\\\n])", r"\\\1", text)


def clip_bytes(text, limit=CHAPTER_TITLE_BYTES):
    """`text` shortened at a character boundary to at most `limit` UTF-8 bytes (with …)."""
    if len(text.encode("utf-8")) <= limit:
        return text
    while len((text + "…").encode("utf-8")) > limit:
        text = text[:-1]
    return text.rstrip() + "…"


def language_code(value):
    """An ISO 639-2 code for a language tag ("en", "en-US", "eng"), or None."""
    primary = re.split(r"[-_]", str(value).strip().lower())[0]
    if re.fullmatch(r"[a-z]{3}", primary):
        return primary
    return LANGUAGES.get(primary)


def prepare_tags(tags):
    """The tags that can be written, cleaned: {key: text}; a date as YYYY or YYYY-MM-DD, a
    language as an ISO 639-2 code; others (and empty values) are left out."""
    prepared = {}
    for key in TAG_KEYS:
        value = (tags or {}).get(key)
        value = clean_value(value) if value is not None else ""
        if key == "date":
            match = DATE.match(value)
            value = match.group(0) if match else ""
        elif key == "language":
            value = (language_code(value) or "") if value else ""
        if value:
            prepared[key] = value
    return prepared


def prepare_chapters(chapters, duration):
    """[(start ms, end ms, title)]: sorted, one per start time, those at or after `duration`
    left out; each ends where the next starts, the last at `duration`."""
    end_ms = int(duration * 1000)
    starts = {}
    for number, chapter in enumerate(chapters or [], start=1):
        start = float(chapter.get("start") or 0)
        if not math.isfinite(start):
            continue
        start_ms = max(round(start * 1000), 0)
        if start_ms < end_ms and start_ms not in starts:
            title = clip_bytes(clean_value(chapter.get("title") or "")) or f"Chapter {number}"
            starts[start_ms] = title
    ordered = sorted(starts.items())
    return [(start, ordered[index + 1][0] if index + 1 < len(ordered) else end_ms, title)
            for index, (start, title) in enumerate(ordered)]


def ffmetadata(tags, chapters):
    """The text of an ffmetadata file for `tags` ({key: text}) and `chapters`."""
    lines = [";FFMETADATA1"]
    lines += [f"{key}={escape_value(value)}" for key, value in tags.items()]
    for start, end, title in chapters:
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start}", f"END={end}",
                  f"title={escape_value(title)}"]
    return "\n".join(lines) + "\n"


def picture_mime(path):
    """The MIME type of a JPEG or PNG file; MediaError for anything else."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise MediaError(f"cannot read the cover {os.path.basename(str(path))}: {exc}") from exc
    for magic, mime in PICTURES.items():
        if head.startswith(magic):
            return mime
    raise MediaError(f"the cover {os.path.basename(str(path))} is neither a JPEG nor a PNG")


def _ffmpeg_args(source, meta, cover, fmt_args, language, temp):
    """ffmpeg's arguments: the audio copied, the metadata and chapters of `meta`, the cover."""
    args = ["-i", source, "-f", "ffmetadata", "-i", meta]
    if cover:
        args += ["-i", cover]
    args += ["-map", "0:a:0", *(["-map", "2:v:0"] if cover else []),
             "-map_metadata", "1", "-map_chapters", "1", "-c", "copy"]
    if cover:
        args += ["-disposition:v:0", "attached_pic", "-metadata:s:v:0", "title=Cover",
                 "-metadata:s:v:0", "comment=Cover (front)"]
    if language:
        args += ["-metadata:s:a:0", f"language={language}"]
    return [*args, *fmt_args, temp]


def comment_frame(text, language):
    """An ID3v2.3 `COMM` frame (UTF-16, empty description) holding `text`."""
    body = (b"\x01" + (language or "XXX").encode("ascii")[:3] + "".encode("utf-16") + b"\0\0"
            + text.encode("utf-16"))
    return b"COMM" + struct.pack(">I", len(body)) + b"\0\0" + body


def _synchsafe(number):
    """A 28-bit number as the four 7-bit bytes of an ID3v2 tag size."""
    return bytes((number >> shift) & 0x7F for shift in (21, 14, 7, 0))


def _add_comment(path, comment, language):
    """Put a `COMM` frame first in the ID3v2.3 tag ffmpeg wrote (players do not show the
    `TXXX:comment` ffmpeg would write). The other frames keep their bytes and order, so the
    chapters stay in time order (mutagen would re-sort every frame by size on saving)."""
    frame = comment_frame(comment, language)
    with open(path, "rb") as source:
        header = source.read(10)
        if header[:4] != b"ID3\x03" or header[5] != 0:
            raise MediaError("ffmpeg wrote an unexpected ID3 tag")
        size = sum((byte & 0x7F) << shift for byte, shift in zip(header[6:10], (21, 14, 7, 0)))
        handle, joined = tempfile.mkstemp(prefix=".tagging-", suffix=".mp3",
                                          dir=os.path.dirname(path))
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(header[:6] + _synchsafe(size + len(frame)) + frame)
                shutil.copyfileobj(source, out, 1024 * 1024)
            os.replace(joined, path)
        except BaseException:
            os.remove(joined)
            raise


def embed_metadata(source, target, cancel, *, tags, chapters, cover=None):
    """Write `source` (.m4a or .mp3) to `target` with `tags`, `chapters` and `cover`, its audio
    copied, not re-encoded.

    `tags`: title, artist, album, date, comment, genre, language (empty ones are left out);
    `chapters`: [{"start": seconds, "title"}]; `cover`: a JPEG or PNG file. Returns {"tags":
    [keys written], "chapters": count, "cover": MIME type or None}. Raises Cancelled on cancel,
    MediaError when the file cannot be written (`target` is then left as it was).
    """
    source, target = os.path.abspath(str(source)), os.path.abspath(str(target))
    extension = os.path.splitext(source)[1].lower()
    if extension not in FORMATS:
        raise MediaError(f"cannot tag {os.path.basename(source)}: only .m4a and .mp3 files")
    mime = picture_mime(cover) if cover else None
    written = prepare_tags(tags)
    if chapters:
        found = probe(source)
        marks = prepare_chapters(chapters, found["duration"] or found["audio_duration"] or 0.0)
    else:
        marks = []
    in_file = dict(written)
    comment = in_file.pop("comment", None) if extension == ".mp3" else None
    folder = os.path.dirname(target)
    handle, meta = tempfile.mkstemp(prefix=".tags-", suffix=".txt", dir=folder)
    temp_handle, temp = tempfile.mkstemp(prefix=".tagging-", suffix=extension, dir=folder)
    os.close(temp_handle)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(ffmetadata(in_file, marks))
        run_ffmpeg(_ffmpeg_args(source, meta, cover and os.path.abspath(str(cover)),
                                FORMATS[extension], written.get("language"), temp),
                   cancel, stderr_lines=[])
        if comment:
            _add_comment(temp, comment, written.get("language"))
        os.replace(temp, target)
    except (MediaError, OSError) as exc:
        raise MediaError(f"cannot write the tags of {os.path.basename(target)}: {exc}") from exc
    finally:
        for leftover in (meta, temp):
            if os.path.exists(leftover):
                os.remove(leftover)
    return {"tags": sorted(written), "chapters": len(marks), "cover": mime}


def read_chapters(path):
    """Chapters as libavformat (and so ffprobe -show_chapters) reads them:
    [{"start", "end", "title"}] in seconds."""
    try:
        with av.open(str(path)) as container:
            found = container.chapters()
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot read {os.path.basename(str(path))}: {exc}") from exc
    return [{"start": round(float(item["start"] * item["time_base"]), 3),
             "end": round(float(item["end"] * item["time_base"]), 3),
             "title": item["metadata"].get("title", "")} for item in found]


def _read_mp4(path):
    """Tags and cover of an .m4a, read with mutagen (the language from the audio track)."""
    found = MP4(path).tags or {}
    tags = {key: str(found[atom][0]) for key, atom in MP4_KEYS.items() if found.get(atom)}
    with av.open(str(path)) as container:
        language = container.streams.audio[0].metadata.get("language") \
            if container.streams.audio else None
    if language and language != "und":
        tags["language"] = language
    covers = found.get("covr") or []
    cover = ({"mime": MP4_PICTURES.get(covers[0].imageformat, "image/unknown"),
              "bytes": len(covers[0])} if covers else None)
    return tags, cover


def _read_id3(path):
    """Tags and cover of an .mp3's ID3v2 tag, read with mutagen."""
    try:
        found = ID3(path)
    except ID3NoHeaderError:
        return {}, None
    tags = {key: str(found[frame].text[0]) for key, frame in ID3_KEYS.items()
            if frame in found and found[frame].text}
    comments = [frame for frame in found.getall("COMM") if frame.text]
    if comments:
        tags["comment"] = str(comments[0].text[0])
    pictures = sorted(found.getall("APIC"), key=lambda frame: frame.type != PictureType.COVER_FRONT)
    cover = {"mime": pictures[0].mime, "bytes": len(pictures[0].data)} if pictures else None
    return tags, cover


def read_metadata(path):
    """What an episode file carries: {"tags": {key: text}, "chapters": [{"start", "end",
    "title"}], "cover": {"mime", "bytes"} or None}. Raises MediaError when it cannot be read."""
    extension = os.path.splitext(str(path))[1].lower()
    if extension not in FORMATS:
        raise MediaError(f"cannot read the tags of {os.path.basename(str(path))}")
    chapters = read_chapters(path)
    try:
        tags, cover = _read_mp4(str(path)) if extension == ".m4a" else _read_id3(str(path))
    except (MutagenError, av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot read the tags of {os.path.basename(str(path))}: {exc}") from exc
    return {"tags": tags, "chapters": chapters, "cover": cover}
