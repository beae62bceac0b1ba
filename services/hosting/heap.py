"""Keep the garbage collector's full passes short in a long-lived serving process.

A full collection walks every tracked object: with the modules a run uses loaded (yt-dlp's
extractors alone are thousands of classes) that is about 200,000 objects and a 60 ms pause,
every few tens of seconds during a transcription, in which no event reaches a browser. The
objects built at start-up live as long as the process, so they are collected once and frozen
(`gc.freeze`): later passes only walk what runs create.
"""
import gc


def preload():
    """Import what runs use in this process, so it is built before the freeze."""
    import yt_dlp.extractor

    yt_dlp.extractor.gen_extractor_classes()


def settle(load=True):
    """Load, collect, then freeze what the process holds now; returns the frozen count."""
    if load:
        preload()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
