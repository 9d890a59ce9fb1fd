"""Saving and loading: checkpoints in safetensors with JSON metadata."""
from gradwork.io.checkpoint import Checkpoint, load, save
