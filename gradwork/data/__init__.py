"""Data: datasets, loaders, splits and dataset readers."""
from gradwork.data import datasets, transforms
from gradwork.data.dataloader import DataLoader
from gradwork.data.dataset import ArrayDataset, Dataset, Subset, random_split, train_val_split
