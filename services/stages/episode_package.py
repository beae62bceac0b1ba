"""Stage 6's last step: what makes the episode publishable as it is.

- `cover.jpg`: a square 1400-3000 px picture from the video's thumbnail (stage 1), else the
  `production.cover` asset, else a title card;
- the cover, the chapters (in episode time) and the tags (title, artist, album, date, a comment
  with the source URL) embedded in the episode file, its audio copied, not encoded again;
- the episode's own transcripts, `episode.vtt`, `episode.srt` and `episode.transcript.json`
  (Podcasting 2.0), re-timed through the same timeline as the chapters;
- `publication.json`: the episode's guid and first publication date, written once.
"""
import os
from pathlib import Path

from services.assets import asset_path
from services.engine.context import StageError
from services.media import timeline as episode_timeline
from services.media.cover import make_cover
from services.media.ffmpeg import MediaError
from services.media.subtitles import to_podcast_json, to_srt, to_vtt
from services.media.tagging import embed_metadata
from services.podcast.identity import UPLOAD_DATE, record_publication

COVER = "cover.jpg"
TRANSCRIPTS = ("episode.vtt", "episode.srt", "episode.transcript.json")
THUMBNAIL_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


def thumbnail(folder):
    """The thumbnail stage 1 kept in `folder`, or None."""
    return next((path for path in sorted(Path(folder).glob("thumbnail.*"))
                 if path.suffix.lower() in THUMBNAIL_SUFFIXES), None)


def cover_inputs(ctx):
    """The files the cover is made from, for stage 6's checkpoint."""
    configured = (ctx.settings.get("production") or {}).get("cover")
    picture = thumbnail(ctx.episode_dir)
    return [str(path) for path in (picture, _configured_cover(ctx, configured)) if path]


def _configured_cover(ctx, name):
    return asset_path(ctx.settings.get("data_dir"), str(name)) if name else None


def tags_of(ctx, metadata):
    """The episode file's tags from the video's metadata and the feed's title."""
    upload = str(metadata.get("upload_date") or "")
    date = f"{upload[:4]}-{upload[4:6]}-{upload[6:]}" if UPLOAD_DATE.fullmatch(upload) else None
    return {"title": metadata.get("title") or Path(ctx.episode_dir).name,
            "artist": metadata.get("uploader"),
            "album": (ctx.settings.get("feed") or {}).get("title"),
            "date": date, "comment": metadata.get("webpage_url") or ctx.url,
            "genre": "Podcast"}


def _make_cover(ctx, work, tags):
    """cover.jpg in `work`, from the best picture there is; its description."""
    configured = (ctx.settings.get("production") or {}).get("cover")
    for source in (thumbnail(ctx.episode_dir), _configured_cover(ctx, configured)):
        if source is None:
            continue
        made = make_cover(work / COVER, ctx.cancel, image=source, title=tags["title"],
                          subtitle=tags.get("artist") or "")
        if made.get("source") == "image":
            made["from"] = source.name
            return made
        ctx.log.warning("The picture %s could not be used for the cover: %s", source.name,
                        made.get("note") or "unreadable")
    made = make_cover(work / COVER, ctx.cancel, title=tags["title"],
                      subtitle=tags.get("artist") or tags.get("album") or "")
    made["from"] = "title card"
    return made


def _transcripts(ctx, transcript, plan, mode, episode_seconds, language):
    """The episode's transcripts in episode time; the number of cues."""
    cues = episode_timeline.episode_cues(transcript.get("segments") or [], plan["timeline"],
                                         mode, plan["program_offset"], episode_seconds)
    ctx.write_text("episode.vtt", to_vtt(cues))
    ctx.write_text("episode.srt", to_srt(cues))
    ctx.write_text("episode.transcript.json", to_podcast_json(cues, language))
    return len(cues)


def package(ctx, part, work, plan, mode, chapters, episode_seconds):
    """Cover, embedded chapters and tags (into `part`, the encoded episode in `work`), the
    episode's transcripts and its publication record; what production.json notes of them."""
    ctx.sub_stage("Tagging the episode")
    metadata, transcript = ctx.read_json("metadata.json"), ctx.read_json("transcript.json")
    language = transcript.get("language") or (ctx.settings.get("feed") or {}).get("language")
    tags = {**tags_of(ctx, metadata), "language": language}
    cover = _make_cover(ctx, work, tags)
    tagged = part.with_name(f"tagged-{part.name}")
    try:
        embed_metadata(part, tagged, ctx.cancel, tags=tags, chapters=chapters,
                       cover=work / COVER)
    except MediaError as exc:
        raise StageError(f"The chapters and tags could not be written: {exc}") from exc
    os.replace(tagged, part)
    os.replace(work / COVER, ctx.path(COVER))
    cues = _transcripts(ctx, transcript, plan, mode, episode_seconds, language)
    record = record_publication(ctx.episode_dir, ctx.url)
    ctx.log.info("Episode tagged: %d chapter(s), cover from %s (%dx%d), %d transcript cue(s)",
                 len(chapters), cover["from"], cover["width"], cover["height"], cues)
    return {"cover": {"file": COVER, "width": cover["width"], "height": cover["height"],
                      "from": cover["from"]},
            "tags": {key: value for key, value in tags.items() if value},
            "transcripts": {"files": list(TRANSCRIPTS), "language": language, "cues": cues},
            "guid": record["guid"]}
