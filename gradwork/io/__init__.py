"""Saving and loading: checkpoints in safetensors with JSON metadata; state dicts written by PyTorch."""
from gradwork.io.checkpoint import Checkpoint, load, save
from gradwork.io.state_dict_file import load_state_dict_file
from gradwork.io.word_vectors import load_word_vectors, save_word_vectors
