"""The download side: yt-dlp's options, cookies, errors, limits, creator subtitles, and playlists, channels and feeds."""
