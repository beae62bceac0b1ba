"""Square cover art for an episode: the video's picture on a blurred, darkened square of itself,
or, without a usable picture, a title card (a gradient with the title and a subtitle).

Podcast directories ask for a square RGB JPEG of 1400–3000 px. The picture is scaled to fit the
square whole (a 16:9 thumbnail keeps its full width) over a copy of itself that fills the square,
blurred and darkened, so nothing is stretched or cut off. Text reaches ffmpeg's drawtext through
files (`textfile=`, `expansion=none`), so titles need no escaping; only the file paths are
escaped for the filter graph. A picture ffmpeg cannot decode, even in part, gives a title card.
"""
import logging
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from functools import lru_cache

import av

from services.media.ffmpeg import MediaError, run_ffmpeg

log = logging.getLogger("ffmpeg")

MIN_SIZE, MAX_SIZE = 1400, 3000
MAX_BYTES = 512 * 1024          # what directories have long recommended for cover art
QUALITIES = (3, 5, 8)           # JPEG quality scale tried in turn until the file fits MAX_BYTES
BLUR_SIZE = 160                 # the background is blurred at this size, then scaled up
BACKGROUND = "eq=brightness=-0.18:saturation=0.85"
GRADIENT = ("0x1d2b53", "0x6a2c5e")
FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
              "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
              "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
              "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
              "/Library/Fonts/Arial Bold.ttf", "/System/Library/Fonts/Supplemental/Arial Bold.ttf")
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
TITLE_LINES = 4
TITLE_EM = 0.068                # font size as a share of the side
SUBTITLE_EM = 0.036
LINE_EMS = 12.0                 # usable line width, in ems of the title font
SUBTITLE_LINE_EMS = 22.0
ELLIPSIS = "…"


@lru_cache(maxsize=1)
def find_font():
    """A bold sans-serif font file (fontconfig's choice, then known paths), or None."""
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}", "DejaVu Sans:bold"],
                               capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    candidates = ([found] if found else []) + list(FONT_PATHS)
    return next((path for path in candidates
                 if path.lower().endswith(FONT_SUFFIXES) and os.path.isfile(path)), None)


def filter_value(text):
    """`text` as an option value inside a filter graph: escaped for the option (`\\ ' :`), then
    for the graph (`\\ ' [ ] , ;`)."""
    option = re.sub(r"([\\':])", r"\\\1", text)
    return re.sub(r"([\\'\[\],;])", r"\\\1", option)


def clean_text(text):
    """One line of printable text: controls and line breaks become spaces, runs of space one."""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                   for ch in str(text or "")
                   if not 0xD800 <= ord(ch) <= 0xDFFF and unicodedata.category(ch) != "Cf")
    return " ".join(kept.split())


def text_width(text):
    """Rough width of `text` in ems of a bold sans-serif font."""
    width = 0.0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            width += 1.0
        elif ch in " .,:;'!|il1tfjrI()[]-\"`":
            width += 0.34
        elif ch.isupper() or ch in "mwMW@%&":
            width += 0.78
        else:
            width += 0.62
    return width


def _shorten(text, ems, cut=False):
    """`text` fitted to `ems`, ending in an ellipsis when shortened (always with `cut`)."""
    if not cut and text_width(text) <= ems:
        return text
    while text and text_width(text + ELLIPSIS) > ems:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS


def wrap_title(text, ems=LINE_EMS, max_lines=TITLE_LINES):
    """`text` in lines of at most `ems` (long words broken), the last one shortened with an
    ellipsis when the text needs more than `max_lines`."""
    lines, line = [], ""
    for word in clean_text(text).split(" "):
        while word:
            joined = f"{line} {word}" if line else word
            if text_width(joined) <= ems:
                line, word = joined, ""
            elif line:
                lines.append(line)
                line = ""
            else:
                cut = len(word)
                while cut > 1 and text_width(word[:cut]) > ems:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _shorten(lines[-1], ems, cut=True)
    return lines


def _drawtext(folder, index, text, font, size, y, color):
    """A drawtext filter for one centred line of `text`, written to a file in `folder`."""
    path = os.path.join(folder, f"line{index}.txt")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return (f"drawtext=fontfile={filter_value(font)}:textfile={filter_value(path)}:expansion=none"
            f":fontsize={size}:fontcolor={color}:shadowcolor=black@0.45:shadowx={max(size // 24, 1)}"
            f":shadowy={max(size // 24, 1)}:x=(w-text_w)/2:y={y}")


def _card_graph(folder, side, title, subtitle, font):
    """The title card's filter chain (gradient source, then one drawtext per line)."""
    start, end = GRADIENT
    chain = [f"gradients=s={side}x{side}:c0={start}:c1={end}:x0=0:y0=0:x1={side}:y1={side}"
             f":nb_colors=2:d=1"]
    if font:
        title_size, sub_size = round(side * TITLE_EM), round(side * SUBTITLE_EM)
        lines = wrap_title(title)
        sub = _shorten(clean_text(subtitle), SUBTITLE_LINE_EMS) if clean_text(subtitle) else ""
        title_step, gap = round(title_size * 1.25), round(sub_size * 1.6) if lines else 0
        height = len(lines) * title_step + ((gap + sub_size) if sub else 0)
        y = (side - height) // 2
        for index, line in enumerate(lines):
            chain.append(_drawtext(folder, index, line, font, title_size, y, "white"))
            y += title_step
        if sub:
            chain.append(_drawtext(folder, len(lines), sub, font, sub_size, y + gap, "0xE6E6E6"))
    return ",".join(chain)


def _picture_graph(side):
    """The picture fitted whole over a blurred, darkened copy that fills the square."""
    small = BLUR_SIZE
    return (f"[0:v]split=2[bg][fg];"
            f"[bg]scale={small}:{small}:force_original_aspect_ratio=increase,crop={small}:{small},"
            f"gblur=sigma=6,{BACKGROUND},scale={side}:{side}[back];"
            f"[fg]scale={side}:{side}:force_original_aspect_ratio=decrease[front];"
            f"[back][front]overlay=(W-w)/2:(H-h)/2")


def picture_size(path):
    """(width, height) of the first picture in `path`, read with PyAV."""
    try:
        with av.open(str(path)) as container:
            context = container.streams.video[0].codec_context
            return context.width, context.height
    except (av.error.FFmpegError, OSError, IndexError) as exc:
        raise MediaError(f"cannot read {os.path.basename(str(path))}: {exc}") from exc


def _encode(inputs, graph, target, cancel):
    """Run `graph` on `inputs` to a JPEG at `target`, raising the quality scale until it fits."""
    for quality in QUALITIES:
        run_ffmpeg([*inputs, "-filter_complex", f"{graph},format=yuvj420p", "-frames:v", "1",
                    "-c:v", "mjpeg", "-q:v", str(quality), "-f", "mjpeg", target],
                   cancel, stderr_lines=[])
        if os.path.getsize(target) <= MAX_BYTES:
            break


def make_cover(out_path, cancel, image=None, title="", subtitle="", size=MIN_SIZE):
    """Write a square JPEG cover to `out_path`: `image` fitted over a blurred copy of itself,
    or (without a usable image) a title card with `title` and `subtitle`.

    Returns {"file", "width", "height", "source": "image" | "title_card", "note"}; a note says
    why an image was not used or why a card has no text. Raises Cancelled on cancel and
    MediaError when not even a title card can be made.
    """
    side = min(max(int(size or MIN_SIZE), MIN_SIZE), MAX_SIZE)
    out_path = os.path.abspath(str(out_path))
    folder = tempfile.mkdtemp(prefix=".cover-", dir=os.path.dirname(out_path))
    target = os.path.join(folder, "cover.jpg")
    source, note = "title_card", None
    try:
        if image:
            try:
                _encode(["-err_detect", "explode", "-xerror", "-i", os.path.abspath(str(image))],
                        _picture_graph(side), target, cancel)
                if picture_size(target) != (side, side):
                    raise MediaError("the picture came out at the wrong size")
                source = "image"
            except MediaError as exc:
                log.warning("cover picture %s not used: %s", image, exc)
                note = "the picture could not be read; a title card was made instead"
        if source == "title_card":
            note = _title_card(folder, target, side, title, subtitle, cancel, note)
        width, height = picture_size(target)
        os.replace(target, out_path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"file": os.path.basename(out_path), "width": width, "height": height,
            "source": source, "note": note}


def _title_card(folder, target, side, title, subtitle, cancel, note):
    """Draw the title card into `target`; returns the note, extended when it has no text."""
    font = find_font()
    try:
        _encode([], _card_graph(folder, side, title, subtitle, font), target, cancel)
        if font is None:
            return _join(note, "no font was found, so the card has no text")
        return note
    except MediaError as exc:
        if font is None:
            raise
        log.warning("cover text not drawn: %s", exc)
        _encode([], _card_graph(folder, side, "", "", None), target, cancel)
        return _join(note, "the text could not be drawn, so the card has no text")


def _join(first, second):
    """Two notes as one sentence list."""
    return f"{first}; {second}" if first else second
