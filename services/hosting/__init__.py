"""What a long-lived serving process needs: one server per data folder, and short garbage-collector passes."""
