"""Preprocessing fitted on the training split only, then applied to every split.

The course's rule: statistics (means, deviations, principal components) come from the training
data alone; the validation and test data are transformed with those same numbers, as new data
in production would be. Fitting on all the data leaks the test set into training.

Each transformer has ``fit(x)``, ``transform(x)``, ``fit_transform(x)`` and ``inverse_transform(y)``,
works on arrays of shape (N, D) — or (N, C, H, W) images, flattened per example where a method
needs vectors — and refuses to transform before it has been fitted.
"""
from gradwork.backend import xp
from gradwork.errors import ConfigError, ShapeError


class Preprocessor:
    """Base: the fit/transform protocol and the "not fitted yet" guard."""

    fitted = False

    def fit(self, x):
        x = self._check(x, fitting=True)
        self._fit(x)
        self.fitted = True
        self.shape = x.shape[1:]
        return self

    def transform(self, x):
        return self._transform(self._check(x))

    def fit_transform(self, x):
        return self.fit(x).transform(x)

    def inverse_transform(self, y):
        if not self.fitted:
            self._not_fitted()
        return self._inverse(xp.asarray(y, dtype=xp.float64))

    def _not_fitted(self):
        raise ConfigError(f"{type(self).__name__} has not been fitted: call fit(x_train) first, then transform "
                          f"the training, validation and test data with it")

    def _check(self, x, fitting=False):
        x = xp.asarray(getattr(x, "data", x), dtype=xp.float64)
        if x.ndim < 2 or len(x) == 0:
            raise ShapeError(f"{type(self).__name__}: expected a batch of examples (N, …) with N ≥ 1, got shape "
                             f"{x.shape}")
        if not fitting:
            if not self.fitted:
                self._not_fitted()
            if x.shape[1:] != self.shape:
                raise ShapeError(f"{type(self).__name__} was fitted on examples of shape {self.shape}, got "
                                 f"{x.shape[1:]}")
        return x


class MeanSubtraction(Preprocessor):
    """x − mean. ``per="feature"``: one mean per feature (column), over the training examples;
    ``per="image"``: each example's own mean is removed (nothing to fit, but the same interface)."""

    def __init__(self, per="feature"):
        if per not in ("feature", "image"):
            raise ConfigError(f"MeanSubtraction: per must be 'feature' or 'image', got {per!r}")
        self.per = per

    def _fit(self, x):
        self.mean_ = x.mean(axis=0) if self.per == "feature" else None

    def _transform(self, x):
        if self.per == "feature":
            return x - self.mean_
        axes = tuple(range(1, x.ndim))
        self._last_means = x.mean(axis=axes, keepdims=True)
        return x - self._last_means

    def _inverse(self, y):
        if self.per == "feature":
            return y + self.mean_
        raise ConfigError("MeanSubtraction(per='image') cannot be inverted: each image's own mean was discarded")


class Standardizer(Preprocessor):
    """(x − mean) / std per feature; features with zero spread are left centred (std taken as 1)."""

    def _fit(self, x):
        self.mean_ = x.mean(axis=0)
        std = x.std(axis=0)
        self.std_ = xp.where(std > 0, std, 1.0)

    def _transform(self, x):
        return (x - self.mean_) / self.std_

    def _inverse(self, y):
        return y * self.std_ + self.mean_


class MinMaxScaler(Preprocessor):
    """Scale each feature linearly so the training data spans [low, high] (default [−1, 1])."""

    def __init__(self, feature_range=(-1.0, 1.0)):
        low, high = feature_range
        if not low < high:
            raise ConfigError(f"MinMaxScaler: feature_range must have low < high, got {feature_range}")
        self.low, self.high = low, high

    def _fit(self, x):
        self.min_ = x.min(axis=0)
        span = x.max(axis=0) - self.min_
        self.span_ = xp.where(span > 0, span, 1.0)

    def _transform(self, x):
        return self.low + (x - self.min_) / self.span_ * (self.high - self.low)

    def _inverse(self, y):
        return (y - self.low) / (self.high - self.low) * self.span_ + self.min_


class PCA(Preprocessor):
    """Principal component analysis by SVD of the centred training data X = U S Vᵀ.

    The components are the rows of Vᵀ (directions of largest variance first); the variance along
    component k is S_k² / (N − 1). ``n_components``: an integer, or a fraction in (0, 1) for "as
    many as explain that share of the variance", or None for all. ``whiten=True`` divides each
    projection by its standard deviation, so the result has identity covariance on the training
    data (PCA whitening). Examples are flattened to vectors.
    """

    def __init__(self, n_components=None, whiten=False, eps=1e-8):
        if n_components is not None:
            if isinstance(n_components, float) and not 0 < n_components < 1:
                raise ConfigError(f"PCA: a fractional n_components must be in (0, 1), got {n_components}")
            if isinstance(n_components, int) and n_components <= 0:
                raise ConfigError(f"PCA: n_components must be positive, got {n_components}")
        self.n_components, self.whiten, self.eps = n_components, whiten, eps

    def _fit(self, x):
        x = x.reshape(len(x), -1)
        self.mean_ = x.mean(axis=0)
        _, s, vt = xp.linalg.svd(x - self.mean_, full_matrices=False)
        variance = s ** 2 / max(len(x) - 1, 1)
        ratio = variance / variance.sum() if variance.sum() > 0 else variance
        k = self.n_components
        if k is None:
            k = len(s)
        elif isinstance(k, float):
            k = int(xp.searchsorted(xp.cumsum(ratio), k) + 1)
        if k > len(s):
            raise ConfigError(f"PCA: n_components={k} but the data has only {len(s)} components "
                              f"(min of examples and features)")
        self.components_ = vt[:k]
        self.explained_variance_ = variance[:k]
        self.explained_variance_ratio_ = ratio[:k]

    def _scale(self):
        return xp.sqrt(self.explained_variance_ + self.eps) if self.whiten else 1.0

    def _transform(self, x):
        return ((x.reshape(len(x), -1) - self.mean_) @ self.components_.T) / self._scale()

    def _inverse(self, y):
        x = (y * self._scale()) @ self.components_ + self.mean_
        return x.reshape((len(x),) + self.shape)


class ZCAWhitening(PCA):
    """ZCA whitening: rotate into the principal axes, scale each to unit variance (ε keeps small
    components from blowing up), rotate back — W = V diag(1/√(λ + ε)) Vᵀ. The result has identity
    covariance (for ε → 0) yet stays as close as possible to the input: whitened images still look
    like images, with edges enhanced."""

    def __init__(self, eps=1e-2):
        super().__init__(n_components=None, whiten=True, eps=eps)

    def _transform(self, x):
        return (super()._transform(x) @ self.components_).reshape(x.shape)

    def _inverse(self, y):
        return super()._inverse(y.reshape(len(y), -1) @ self.components_.T)
