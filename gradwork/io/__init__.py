"""Saving and loading: checkpoints in safetensors with JSON metadata."""
from gradwork.io.checkpoint import Checkpoint, load, save
from gradwork.io.word_vectors import load_word_vectors, save_word_vectors
