"""Weight initialisation and activation histograms: the course's experiment.

1,000 random inputs through 5 layers of 100 units. Weights with std 1 saturate sigmoid and tanh
(activations pile up at the ends: gradients vanish); std 0.01 collapses every unit to the same
value; Xavier (std 1/√n) keeps sigmoid/tanh healthy; ReLU needs He (std √(2/n)).
Writes examples/out/initialization.png.
"""
import os

from gradwork.tools.viz import activation_experiment, plot_activation_experiment

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def main(out=OUT):
    for activation in ("sigmoid", "tanh", "relu"):
        for init in ("std1", "std0.01", "xavier", "he"):
            stds = [f"{layer.std():.3g}" for layer in activation_experiment(activation, init)]
            print(f"{activation:<8} {init:<8} std per layer: {' '.join(stds)}")
    os.makedirs(out, exist_ok=True)
    plot_activation_experiment(os.path.join(out, "initialization.png"))


if __name__ == "__main__":
    main()
