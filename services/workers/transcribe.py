"""Worker: transcribe one audio file with faster-whisper (run as a child process).

Messages: loaded → info {language, probability, duration} → segment {...}* → done.
"""
import argparse

from services.workers import emit, worker_main

# faster-whisper's own default: retry a window at a higher temperature when decoding fails its
# compression-ratio or log-probability checks.
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def transcribe(args):
    from faster_whisper import WhisperModel

    model = WhisperModel(args.model, device=args.device, compute_type=args.compute_type,
                         cpu_threads=args.cpu_threads, local_files_only=True)
    emit("loaded")
    if args.load_only:
        return
    segments, info = model.transcribe(
        args.audio, beam_size=args.beam_size, language=args.language or None,
        word_timestamps=args.word_timestamps,
        condition_on_previous_text=args.condition_on_previous_text, vad_filter=args.vad_filter,
        temperature=FALLBACK_TEMPERATURES if args.temperature_fallback else 0.0)
    emit("info", language=info.language, probability=round(info.language_probability, 3),
         duration=info.duration)
    for segment in segments:
        item = {"id": segment.id, "start": round(segment.start, 3), "end": round(segment.end, 3),
                "text": segment.text.strip()}
        if segment.words:
            item["words"] = [{"start": round(w.start, 3), "end": round(w.end, 3), "word": w.word,
                              "probability": round(w.probability, 3)} for w in segment.words]
        emit("segment", **item)
    emit("done")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--audio")
    parser.add_argument("--load-only", action="store_true", help="load the model and stop")
    parser.add_argument("--model", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--cpu-threads", type=int, default=0)
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--language", default="")
    switch = argparse.BooleanOptionalAction
    parser.add_argument("--word-timestamps", action=switch, default=False)
    parser.add_argument("--condition-on-previous-text", action=switch, default=False,
                        help="prompt each window with the text decoded before it")
    parser.add_argument("--vad-filter", action=switch, default=False,
                        help="skip non-speech found by the bundled Silero VAD")
    parser.add_argument("--temperature-fallback", action=switch, default=True,
                        help="retry failed windows at higher temperatures (else temperature 0 only)")
    with worker_main():
        args = parser.parse_args()
        if not args.audio and not args.load_only:
            parser.error("--audio is required")
        transcribe(args)


if __name__ == "__main__":
    main()
