"""Audio with ffmpeg and PyAV: probing, loudness, normalisation, waveform peaks, subtitles files and the speech map."""
