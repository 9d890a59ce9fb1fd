"""Text corpora that ship with gradwork (see SOURCE.md for where they come from and their licence)."""
