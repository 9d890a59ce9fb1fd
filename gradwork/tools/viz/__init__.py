"""Pictures of training (matplotlib, Agg backend: files, never windows). Every plotting function
saves a PNG when given a path and returns the figure."""
from gradwork.tools.viz.activations import activation_experiment, activation_histograms, plot_activation_experiment
from gradwork.tools.viz.attention import plot_attention
from gradwork.tools.viz.conv import feature_maps, plot_feature_maps, plot_filters
from gradwork.tools.viz.embeddings import layer_output, plot_tsne, tsne
from gradwork.tools.viz.graph import render_dot, to_dot
from gradwork.tools.viz.learning_curves import plot_history
from gradwork.tools.viz.optimizer_paths import optimizer_path, optimizer_paths, plot_optimizer_paths
from gradwork.tools.viz.parameters import plot_parameter_histograms, plot_update_ratios
