"""Pictures of training (matplotlib, Agg backend: files, never windows)."""
from gradwork.tools.viz.learning_curves import plot_history
