"""Every public function of the computing modules takes integer, float32 and float64 inputs and
keeps to its inputs' device.

dtype: each function gets the same integer-valued inputs as int64, float32 and float64 tensors;
the result must be a floating tensor equal to the float64 result (integers used to be truncated,
e.g. ``gaussian_nll`` cast ``mu`` to the integer dtype of ``x``).

device: there is no GPU here, so the functions run on CPU inputs inside
``with torch.device("meta")``, which puts every tensor created *without an explicit device* on
the meta device. A function that builds a tensor on the default device instead of its inputs'
(``decorrelation_loss``'s identity matrix was always on the CPU, so it failed for CUDA codes)
then fails or returns a meta tensor, exactly as it would with CUDA inputs.
"""

import math

import pytest
import torch

from vaelib import elbo as E
from vaelib import latent as L
from vaelib import losses
from vaelib import sparse as sp
from vaelib import sparse_metrics as sm
from vaelib.estimators import gradients as G
from vaelib.estimators import objectives as O
from vaelib.reparam import reparameterize

F64 = torch.float64

# Integer-valued inputs, so that int64, float32 and float64 copies hold exactly the same numbers.
X = [[1, 0, 2], [3, 1, 0], [0, 2, 2], [1, 1, 4]]  # (4, 3)
MU = [[0, 1, 1], [2, 1, -1], [1, 1, 2], [0, 3, 3]]
LOG_VAR = [[0, -1, 1], [1, 0, -2], [2, 1, 0], [-1, 0, 0]]
LABELS = torch.tensor([0, 1, 0, 1])
CODES = [[0, 3, 1, 0], [2, 0, 1, 5], [4, 1, 0, 0], [0, 0, 3, 1], [1, 2, 0, 2], [3, 0, 2, 0]]


def _f64(value):
    """A metric returned as a Python number, as a float64 tensor (made outside any context)."""
    return value if isinstance(value, torch.Tensor) else torch.tensor(float(value), dtype=F64)


def _elbo_ll(x, z):
    return -0.5 * (z - x).pow(2).sum(-1)  # (K, B, D) -> (K, B)


# name -> (function of tensors, the inputs, "follows" (result in the inputs' float dtype) or
#          "float64" (the function computes in float64 by design))
CASES = {
    "gaussian_nll": (lambda x, m, v: losses.gaussian_nll(x, m, v), (X, MU, LOG_VAR), "follows"),
    "gaussian_nll var": (
        lambda x, m, v: losses.gaussian_nll(x, m, var=v.exp()),
        (X, MU, LOG_VAR),
        "follows",
    ),  # fmt: skip
    "kl_std_normal": (losses.kl_std_normal, (MU, LOG_VAR), "follows"),
    "kl_normal": (losses.kl_normal, (MU, LOG_VAR, X, LOG_VAR[::-1]), "follows"),
    "log_normal_diag": (E.log_normal_diag, (X, MU, LOG_VAR), "follows"),
    "log_std_normal": (E.log_std_normal, (X,), "follows"),
    "kl_per_dim": (L.kl_per_dim, (MU, LOG_VAR), "follows"),
    "active_units": (lambda m: L.active_units(m)[1], (MU,), "follows"),
    "aggregate_posterior": (lambda m, v: L.aggregate_posterior(m, v)[1], (MU, LOG_VAR), "float64"),
    "class_means": (lambda m: L.class_means(m, LABELS), (MU,), "follows"),
    "line": (lambda a, b: L.line(a, b, 5), ([0, 1, 2], [2, 4, 3]), "follows"),
    "path_smoothness": (
        lambda a: L.path_smoothness(a.reshape(4, 1, 1, 3))["steps"],
        (X,),
        "float64",
    ),  # fmt: skip
    "quadratic_expectation": (O.quadratic_expectation, ([1, -2], [0, 1]), "follows"),
    "cosine_expectation": (O.cosine_expectation, ([1, -2], [0, 1]), "follows"),
    "cosine": (O.cosine, (X,), "follows"),
    "exact_grad": (
        lambda m, v: torch.stack(G.exact_grad(O.quadratic_expectation, m, v)),
        ([1, -2], [0, 1]),
        "float64",
    ),  # fmt: skip
    "quadrature_expectation": (
        lambda m, v: G.quadrature_expectation(O.cosine, m, v, step=0.1),
        ([1], [0]),
        "follows",
    ),  # fmt: skip
    "responsibilities": (sp.responsibilities, (CODES,), "follows"),
    "lse_loss": (sp.lse_loss, (CODES,), "follows"),
    "variance_loss": (sp.variance_loss, (CODES,), "follows"),
    "correlation": (sp.correlation, (CODES,), "follows"),
    "decorrelation_loss": (sp.decorrelation_loss, (CODES,), "follows"),
    "implicit_em_loss": (lambda a: sp.implicit_em_loss(a, 0.5, 0.25), (CODES,), "follows"),
    "sae_loss": (lambda x, h, a: sp.sae_loss(x, h, a, 0.5), (X, MU, LOG_VAR), "follows"),
    "activity_rate": (sm.activity_rate, (CODES,), "float64"),
    "redundancy": (lambda a: sm.redundancy(a, 0.3), (CODES,), "float64"),
    "resp_entropy": (lambda a: sm.responsibility_entropy(a), (CODES,), "float64"),
    "usage_entropy": (lambda a: sm.usage_entropy(a), (CODES,), "float64"),
    "explained_variance": (
        lambda x, h: sm.explained_variance(x, h),
        (X, MU),
        "float64",
    ),  # fmt: skip
}


def _inputs(values, dtype):
    return [torch.tensor(v, dtype=dtype) for v in values]


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("dtype", [torch.int64, torch.float32, torch.float64])
def test_integer_and_float_inputs_give_the_float64_answer(name, dtype):
    fn, values, kind = CASES[name]
    reference = _f64(fn(*_inputs(values, F64)))
    assert reference.dtype == F64
    result = _f64(fn(*_inputs(values, dtype)))
    if kind == "float64":
        expected_dtype = F64
    else:
        expected_dtype = torch.get_default_dtype() if dtype == torch.int64 else dtype
    assert result.dtype == expected_dtype, (name, result.dtype)
    torch.testing.assert_close(result.double(), reference, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name", list(CASES))
def test_tensors_are_made_on_the_inputs_device(name):
    fn, values, _ = CASES[name]
    expected = _f64(fn(*_inputs(values, torch.float32)))
    inputs = _inputs(values, torch.float32)
    with torch.device("meta"):  # a stand-in for "the inputs are on another device than default"
        result = fn(*inputs)
    result = _f64(result)
    assert result.device.type == "cpu", name
    torch.testing.assert_close(result, expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run on Colab)")
@pytest.mark.parametrize("name", list(CASES))
def test_cuda_inputs_give_cuda_results(name):
    fn, values, _ = CASES[name]
    expected = _f64(fn(*_inputs(values, F64)))
    result = fn(*[t.cuda() for t in _inputs(values, F64)])
    if isinstance(result, torch.Tensor):
        assert result.device.type == "cuda", name
        result = result.cpu()
    torch.testing.assert_close(_f64(result), expected)


def test_random_functions_accept_integers_and_follow_the_device():
    mu, log_var = torch.tensor([[1, 2]]), torch.tensor([[0, 0]])
    torch.manual_seed(0)
    z = reparameterize(mu, log_var, num_samples=3)
    torch.manual_seed(0)
    z_float = reparameterize(mu.float(), log_var.float(), num_samples=3)
    assert z.dtype == torch.get_default_dtype()
    torch.testing.assert_close(z, z_float)
    torch.manual_seed(0)
    estimate, se = E.kl_monte_carlo(mu, log_var, 10)
    assert estimate.dtype == se.dtype == F64 and torch.isfinite(estimate).all()
    with torch.device("meta"):
        inputs = (torch.zeros(2, 3, device="cpu"), torch.zeros(2, 3, device="cpu"))
        assert reparameterize(*inputs).device.type == "cpu"
        ones = torch.ones(3, device="cpu")
        for estimator in G.ESTIMATORS.values():
            grads = estimator(O.quadratic, ones, ones, 4)
            assert all(g.device.type == "cpu" for g in grads)
        grads = G.score_function_grad(O.quadratic, ones, ones, 4, baseline=1.0)
        assert all(g.device.type == "cpu" for g in grads)
        value = E.elbo(_elbo_ll, torch.zeros(2, 3, device="cpu"), *inputs, num_samples=2)
        assert value.device.type == "cpu"


def test_maximize_elbo_and_the_joint_table_accept_integers():
    mu, log_var = torch.tensor([[1, 0]]), torch.tensor([[0, 0]])
    fitted_mu, fitted_log_var, history = E.maximize_elbo(
        lambda m, v: -losses.kl_std_normal(m, v, reduction="none").sum(-1), mu, log_var, 200
    )
    assert fitted_mu.dtype == torch.get_default_dtype()
    assert fitted_mu.abs().max() < 0.05 and fitted_log_var.abs().max() < 0.05  # q -> the prior
    table = E.joint_table(torch.tensor([0, 1]), torch.tensor([[1, 0], [0, 1]]))
    torch.testing.assert_close(table.p_x, torch.tensor([0.0, 1.0], dtype=F64))


def test_gaussian_nll_of_an_exact_fit_with_a_tiny_variance_is_finite():
    """float32, x == mu, log_var = -100: exp(100) overflows to inf and 0 * inf used to give NaN."""
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor([0.5, -1.0], dtype=dtype)
        for log_var in (-100.0, -200.0):
            nll = losses.gaussian_nll(x, x.clone(), log_var, reduction="none")
            expected = 0.5 * (log_var + math.log(2 * math.pi))
            torch.testing.assert_close(nll, torch.full_like(x, expected))
    # a miss by one at log_var = -100 in float32: 1 / (2 sigma^2) ~ 1e43 is beyond float32, so
    # the NLL saturates at the largest float (or inf), never NaN
    miss = losses.gaussian_nll(torch.zeros(1), torch.ones(1), -100.0, reduction="none")
    assert (miss >= torch.finfo(torch.float32).max / 2).all()
    # the gradient of an exact fit stays finite too
    mu = torch.zeros(2, requires_grad=True)
    losses.gaussian_nll(torch.zeros(2), mu, -100.0).backward()
    assert torch.isfinite(mu.grad).all()


def test_gaussian_nll_with_integer_targets_matches_normal_log_prob():
    x, mu = torch.tensor([0, 1, 2]), torch.tensor([0.25, 0.5, 3.0])
    expected = -torch.distributions.Normal(mu.double(), 2.0).log_prob(x.double())
    got = losses.gaussian_nll(x, mu, var=4.0, reduction="none")
    assert got.dtype == torch.float32
    torch.testing.assert_close(got.double(), expected, rtol=1e-6, atol=1e-6)


def test_active_units_of_integer_codes():
    mu = torch.tensor([[0, 1, 5], [2, 1, 5], [4, 1, 6]])  # variances 4, 0, 1/3
    num_active, activity = L.active_units(mu)
    assert num_active == 2
    torch.testing.assert_close(activity, torch.tensor([4.0, 0.0, 1 / 3]))
