"""Random search for the learning rate and weight decay, on a log scale (Optuna underneath).

lr = 10^U(−4, 0): every decade gets the same share of trials. Each trial trains an MLP on the
digits for a few epochs and is scored on the validation split; hopeless trials are pruned.
Then the search narrows to the range of the best trials (coarse to fine) and runs again.
Writes examples/out/search_coarse.png and search_fine.png.
"""
import os

import optuna

import gradwork as gw
from gradwork import nn, optim, train
from gradwork.data import datasets, train_val_split
from gradwork.tools.search import Range, narrow, plot_search, results_table, search

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def main(out=OUT, trials=12, epochs=4):
    train_set, val_set = train_val_split(datasets.load_digits()[0])

    def objective(params, trial):
        gw.manual_seed(0)
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
        opt = optim.AdamW(model.parameters(), lr=params["lr"], weight_decay=params["weight_decay"])
        score = 0.0
        for epoch in range(epochs):  # one epoch at a time, so the pruner can stop a bad trial early
            train.fit(model, train_set, loss="cross_entropy", optimizer=opt, epochs=1, verbose=0)
            score = train.evaluate(model, val_set)["accuracy"]
            trial.report(score, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one table at the end instead of a line per trial
    space = {"lr": Range(1e-4, 1, log=True), "weight_decay": Range(1e-6, 1e-1, log=True)}
    os.makedirs(out, exist_ok=True)
    coarse = search(objective, space, trials, study_name="coarse")
    print("coarse search:\n" + results_table(coarse, limit=5))
    plot_search(coarse, os.path.join(out, "search_coarse.png"), space)
    fine_space = narrow(coarse, space, top=0.3)
    print(f"narrowed to lr in [{fine_space['lr'].low:.2g}, {fine_space['lr'].high:.2g}]")
    fine = search(objective, fine_space, trials, sampler="tpe", study_name="fine", seed=1)
    print("fine search (TPE):\n" + results_table(fine, limit=5))
    plot_search(fine, os.path.join(out, "search_fine.png"), fine_space)
    print(f"best: {fine.best_value:.4f} with {fine.best_params}")


if __name__ == "__main__":
    main()
