"""``make bench``: our assistant and stock Rasa, side by side on the same machine (issue 15)."""
