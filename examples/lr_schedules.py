"""Learning-rate schedules, drawn: step decay, exponential decay, 1/t decay, and warm-up then cosine.

Each is a gradwork scheduler stepped once per epoch on a real optimiser; the plot is the
learning rate it set. Writes examples/out/lr_schedules.png.
"""
import os

from gradwork import optim
from gradwork.nn import Parameter
from gradwork.optim import lr_scheduler
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
EPOCHS = 60


def schedules(optimizer):
    return {
        "step (×0.5 every 15)": lr_scheduler.StepLR(optimizer, step_size=15, gamma=0.5),
        "exponential (γ = 0.95)": lr_scheduler.ExponentialLR(optimizer, gamma=0.95),
        "1/t (lr₀ / (1 + 0.1 t))": lr_scheduler.InverseTimeDecay(optimizer, decay=0.1),
        "warm-up 5, then cosine": lr_scheduler.LinearWarmup(
            optimizer, 5, after=lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS - 5)),
    }


def main(out=OUT):
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name in schedules(optim.SGD([Parameter([0.0])], lr=0.1)):
        optimizer = optim.SGD([Parameter([0.0])], lr=0.1)  # a fresh optimiser per schedule
        schedule = schedules(optimizer)[name]
        rates = []
        for _ in range(EPOCHS):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.step()
        ax.plot(range(EPOCHS), rates, label=name)
        print(f"{name:<26} lr at epochs 0, 10, 30, 59: " + ", ".join(f"{rates[t]:.4f}" for t in (0, 10, 30, 59)))
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    finish(fig, os.path.join(out, "lr_schedules.png"))


if __name__ == "__main__":
    main()
