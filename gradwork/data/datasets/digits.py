"""The handwritten-digits data set that ships inside scikit-learn: 1,797 images of 8×8 pixels."""
from gradwork.backend import get_default_dtype, xp
from gradwork.data.dataset import ArrayDataset

#: The train/test split never changes (it does not depend on ``manual_seed``), so test accuracies compare.
SPLIT_SEED = 0
TEST_FRACTION = 0.2


def load_digits(test_fraction=TEST_FRACTION):
    """(train, test) ``ArrayDataset``s of (image, label): images float32 (N, 1, 8, 8) scaled to [0, 1],
    labels int64 in 0…9. The split is stratified (every digit in the same proportion) and fixed.

    Sizes: 1,437 train and 360 test examples.
    """
    # scikit-learn takes a second to import: load it only when the digits are asked for.
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    images = (bunch.images / 16.0).astype(get_default_dtype())[:, None, :, :]
    labels = bunch.target.astype(xp.int64)
    x_train, x_test, y_train, y_test = train_test_split(images, labels, test_size=test_fraction,
                                                        random_state=SPLIT_SEED, stratify=labels)
    train, test = ArrayDataset(x_train, y_train), ArrayDataset(x_test, y_test)
    train.classes = test.classes = [str(d) for d in range(10)]
    return train, test
