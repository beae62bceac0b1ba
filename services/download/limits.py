"""The configured media limits (duration, size), checked as soon as each is known."""


def limit_error(duration, size, max_duration, max_size_mb):
    """Why media of this duration (s) and size (bytes) is over the limits, or None."""
    if duration and max_duration and duration > max_duration:
        return (f"The media lasts {duration:.0f} s, more than the limit of {max_duration:.0f} s "
                "(limits.max_duration_seconds).")
    if size and max_size_mb and size > max_size_mb * 1024 * 1024:
        return (f"The media is {size / 1048576:.0f} MiB, more than the limit of {max_size_mb:.0f} MiB "
                "(limits.max_size_mb).")
    return None
