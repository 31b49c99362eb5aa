"""TFDS builders for skinjax's datasets; importing one registers it with TFDS."""
