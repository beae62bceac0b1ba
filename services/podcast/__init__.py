"""The podcast side of an episode: its published identity, the channel's settings and the
feed's own read-only token."""
