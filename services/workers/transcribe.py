"""Worker: transcribe one audio file with faster-whisper (run as a child process).

Messages: loaded → info {language, probability, duration} → segment {...}* → done.
"""
import argparse

from services.workers import emit, worker_main


def transcribe(args):
    from faster_whisper import WhisperModel

    model = WhisperModel(args.model, device=args.device, compute_type=args.compute_type,
                         cpu_threads=args.cpu_threads, local_files_only=True)
    emit("loaded")
    if args.load_only:
        return
    segments, info = model.transcribe(
        args.audio, beam_size=args.beam_size, language=args.language or None,
        word_timestamps=args.word_timestamps, condition_on_previous_text=False)
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
    parser.add_argument("--word-timestamps", action="store_true")
    with worker_main():
        args = parser.parse_args()
        if not args.audio and not args.load_only:
            parser.error("--audio is required")
        transcribe(args)


if __name__ == "__main__":
    main()
