"""Transcript segments written as SRT, WebVTT and text (services/media/subtitles.py)."""
from services.media.subtitles import to_srt, to_text, to_vtt

SEGMENTS = [{"start": 0.0, "end": 2.5, "text": " Hello there."},
            {"start": 3661.25, "end": 3662.0, "text": "Later."}]



def test_subtitle_formats():
    assert to_srt(SEGMENTS) == ("1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n"
                                "2\n01:01:01,250 --> 01:01:02,000\nLater.\n")
    assert to_vtt(SEGMENTS).startswith("WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello there.\n")
    assert to_text(SEGMENTS) == "Hello there.\nLater.\n"
