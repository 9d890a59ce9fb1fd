"""The generative (Gaussian) classifier: model how each class generates its examples, then use Bayes' rule.

Hung-yi Lee's course puts it beside logistic regression. Instead of learning P(k | x) directly
(discriminative), it models the data of each class k as a Gaussian and the classes by their frequency::

    P(k) = N_k / N                                        (class priors)
    P(x | k) = 𝒩(x; μ_k, Σ_k)                             (class-conditional densities)
    P(k | x) = P(x | k) P(k) / Σ_j P(x | j) P(j)          (Bayes' rule: the posterior)

Fitting is closed form (maximum likelihood, no gradient descent)::

    μ_k = (1/N_k) Σ_{i: y_i = k} x_i
    Σ_k = (1/N_k) Σ_{i: y_i = k} (x_i − μ_k)(x_i − μ_k)ᵀ
    Σ   = Σ_k (N_k / N) Σ_k                               (shared covariance: the prior-weighted average)

With one covariance Σ shared by all classes, the quadratic term xᵀΣ⁻¹x is the same in every class
and cancels in the posterior, which becomes a softmax of a *linear* function of x — the same form
as logistic regression, with weights computed instead of learned::

    P(k | x) = softmax_k(xᵀ w_k + b_k),   w_k = Σ⁻¹ μ_k,   b_k = −½ μ_kᵀ Σ⁻¹ μ_k + ln P(k)

(for two classes: σ(wᵀx + b) with w = Σ⁻¹(μ₁ − μ₂), b = −½μ₁ᵀΣ⁻¹μ₁ + ½μ₂ᵀΣ⁻¹μ₂ + ln(N₁/N₂)).
With a covariance per class the boundary is quadratic. scikit-learn calls the two cases
``LinearDiscriminantAnalysis`` and ``QuadraticDiscriminantAnalysis``.
"""
import math
import numbers

from gradwork.backend import xp
from gradwork.errors import ConfigError, ShapeError


def _as_matrix(who, x):
    """Examples as float64 rows (N, D); images (N, C, H, W) are flattened per example."""
    x = xp.asarray(getattr(x, "data", x), dtype=xp.float64)
    if x.ndim < 2 or len(x) == 0:
        raise ShapeError(f"{who}: expected a batch of examples (N, D) or (N, …) with N ≥ 1, got shape {x.shape}")
    return x.reshape(len(x), -1)


class GaussianClassifier:
    """Generative classifier with Gaussian class-conditional densities, fitted in closed form.

    Args:
        shared_covariance: one covariance Σ for all classes (a linear boundary; scikit-learn's
            ``LinearDiscriminantAnalysis``), or one Σ_k per class (a quadratic boundary; ``QDA``).
        reg: added to every diagonal element of each covariance, Σ + reg·I. The maximum-likelihood
            covariance is singular whenever a feature never varies (a pixel that is always 0) or there
            are fewer examples than features; the ridge makes it invertible and, in units of the
            features' variance, says how much variance a direction the data never showed is given.
            ``reg=0`` is the pure maximum-likelihood model (and fails on singular data).

    After ``fit``: ``classes_`` (K,) the labels seen (sorted), ``priors_`` (K,), ``means_`` (K, D),
    and ``covariance_`` (D, D) when shared, else ``covariances_`` (K, D, D) — all float64, because the
    inverse and log-determinant of a covariance lose too much in float32.

    Shape: ``x`` (N, D) (or (N, …), flattened); ``y`` (N,) class labels of any sortable type.
    ``predict_proba`` (N, K) posteriors P(k | x) in the order of ``classes_``; ``predict`` (N,) labels.
    """

    def __init__(self, shared_covariance=True, reg=1e-6):
        if not isinstance(reg, numbers.Real) or isinstance(reg, bool) or not reg >= 0:
            raise ConfigError(f"GaussianClassifier: reg must be a number ≥ 0 added to the covariance diagonal, "
                              f"got {reg!r}")
        self.shared_covariance, self.reg = bool(shared_covariance), float(reg)
        self.classes_ = None

    # ----------------------------------------------------------------- fitting
    def fit(self, x, y):
        """Estimate priors, means and covariance(s) from examples ``x`` (N, D) with labels ``y`` (N,)."""
        x = _as_matrix("GaussianClassifier.fit", x)
        y = xp.asarray(getattr(y, "data", y)).reshape(-1)
        if len(y) != len(x):
            raise ShapeError(f"GaussianClassifier.fit: {len(x)} examples but {len(y)} labels")
        self.classes_, index, counts = xp.unique(y, return_inverse=True, return_counts=True)
        if len(self.classes_) < 2:
            raise ConfigError(f"GaussianClassifier.fit: the labels hold a single class ({self.classes_[0].item()!r}); "
                              "a classifier needs examples of at least two classes")
        if not self.shared_covariance and counts.min() < 2:
            lonely = self.classes_[counts.argmin()].item()
            raise ConfigError(f"GaussianClassifier(shared_covariance=False): class {lonely!r} has only one "
                              "example, so its own covariance cannot be estimated; give every class at least two "
                              "examples, or use shared_covariance=True")
        k, d = len(self.classes_), x.shape[1]
        self.priors_ = counts / len(x)
        self.means_ = xp.zeros((k, d))
        xp.add.at(self.means_, index, x)           # Σ x_i per class, without a loop over examples
        self.means_ /= counts[:, None]
        centred = x - self.means_[index]
        ridge = self.reg * xp.eye(d)
        if self.shared_covariance:
            # Σ_k (N_k/N) Σ_k = (1/N) Σ_i (x_i − μ_{y_i})(x_i − μ_{y_i})ᵀ: one product over all examples
            self.covariance_ = centred.T @ centred / len(x) + ridge
            self._factors = [self._cholesky(self.covariance_, "the shared covariance")]
        else:
            self.covariances_ = xp.stack([centred[index == c].T @ centred[index == c] / counts[c] + ridge
                                          for c in range(k)])  # a loop over classes, not examples
            self._factors = [self._cholesky(s, f"the covariance of class {self.classes_[c].item()!r}")
                             for c, s in enumerate(self.covariances_)]
        self.n_features_in_ = d
        return self

    def _cholesky(self, covariance, what):
        """The lower factor L of Σ = L Lᵀ: Mahalanobis distances and log-determinants come from it."""
        try:
            return xp.linalg.cholesky(covariance)
        except xp.linalg.LinAlgError:
            raise ConfigError(f"GaussianClassifier: {what} is singular (some feature never varies, or there are "
                              f"fewer examples than features) and reg={self.reg:g} is too small to fix it; "
                              "pass a larger reg, e.g. reg=1e-3") from None

    # ----------------------------------------------------------------- prediction
    def _require_fitted(self, who):
        if self.classes_ is None:
            raise ConfigError(f"GaussianClassifier.{who}: the classifier has not been fitted; call "
                              "fit(x_train, y_train) first")

    def _check(self, who, x):
        self._require_fitted(who)
        x = _as_matrix(f"GaussianClassifier.{who}", x)
        if x.shape[1] != self.n_features_in_:
            raise ShapeError(f"GaussianClassifier.{who}: it was fitted on {self.n_features_in_} features, got "
                             f"examples with {x.shape[1]}")
        return x

    def joint_log_likelihood(self, x):
        """ln P(x | k) + ln P(k) for every example and class, (N, K)::

            ln 𝒩(x; μ, Σ) = −½ ‖L⁻¹(x − μ)‖² − Σ_i ln L_ii − (D/2) ln 2π,   Σ = L Lᵀ
        """
        from scipy.linalg import solve_triangular  # SciPy is imported where it is used, not by ``import gradwork``

        x = self._check("joint_log_likelihood", x)
        d = x.shape[1]
        columns = []
        for c in range(len(self.classes_)):  # a loop over classes; each solve covers all examples
            factor = self._factors[0 if self.shared_covariance else c]
            z = solve_triangular(factor, (x - self.means_[c]).T, lower=True)     # (D, N)
            log_det = 2 * xp.log(xp.diag(factor)).sum()
            columns.append(-0.5 * (z * z).sum(axis=0) - 0.5 * log_det - 0.5 * d * math.log(2 * math.pi)
                           + math.log(self.priors_[c]))
        return xp.stack(columns, axis=1)

    def predict_log_proba(self, x):
        """ln P(k | x), (N, K): the joint log-likelihoods minus their logsumexp over classes.

        Densities in hundreds of dimensions are far below the smallest float64 (e^−1000): working
        with their logarithms and logsumexp keeps the posterior exact where exp would give 0/0."""
        joint = self.joint_log_likelihood(x)
        top = joint.max(axis=1, keepdims=True)
        return joint - (top + xp.log(xp.exp(joint - top).sum(axis=1, keepdims=True)))   # − logsumexp

    def predict_proba(self, x):
        """P(k | x), (N, K): rows sum to 1, columns in the order of ``classes_``."""
        return xp.exp(self.predict_log_proba(x))

    def predict(self, x):
        """The most probable class of each example, (N,), as a label from ``classes_``."""
        return self.classes_[self.joint_log_likelihood(x).argmax(axis=1)]

    def score(self, x, y):
        """Accuracy of ``predict(x)`` against labels ``y``."""
        return float((self.predict(x) == xp.asarray(getattr(y, "data", y)).reshape(-1)).mean())

    def linear_boundary(self):
        """``(W, b)`` with W (D, K) and b (K,) such that ``predict_proba(x) == softmax(x @ W + b)``.

        Only for a shared covariance (each class's quadratic term xᵀΣ_k⁻¹x differs otherwise):
        w_k = Σ⁻¹ μ_k,  b_k = −½ μ_kᵀ Σ⁻¹ μ_k + ln P(k).
        """
        from scipy.linalg import solve_triangular

        self._require_fitted("linear_boundary")
        if not self.shared_covariance:
            raise ConfigError("GaussianClassifier.linear_boundary: with one covariance per class "
                              "(shared_covariance=False) the boundary is quadratic, not linear; fit with "
                              "shared_covariance=True")
        factor = self._factors[0]
        # Σ⁻¹ μ_k through the Cholesky factor: solve L u = μ_k, then Lᵀ w = u
        w = solve_triangular(factor.T, solve_triangular(factor, self.means_.T, lower=True), lower=False)  # (D, K)
        b = -0.5 * (self.means_.T * w).sum(axis=0) + xp.log(self.priors_)
        return w, b

    def __repr__(self):
        return f"GaussianClassifier(shared_covariance={self.shared_covariance}, reg={self.reg:g})"
