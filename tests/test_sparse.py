"""Tests for vaelib.sparse and vaelib.sparse_metrics (chapter 7, the implicit-EM sparse encoder)."""

import math

import numpy as np
import pytest
import torch

from vaelib import sparse as sp
from vaelib import sparse_metrics as sm
from vaelib.data import load_mnist


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: extra threads only add overhead on a shared CPU
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def mnist_small():
    data = load_mnist(n_train=1024, verbose=False)
    return data.x_train.reshape(-1, 784)  # (N, 1, 28, 28) -> (N, 784)


# --- the gradient identity and the loss terms ------------------------------------------------


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-6), (torch.float32, 1e-6)])
def test_gradient_of_lse_is_the_responsibility(dtype, tol):
    torch.manual_seed(0)
    a = torch.relu(3 * torch.randn(200, 64, dtype=torch.float64))
    grad, r = sp.gradient_identity(a, dtype=dtype)
    assert grad.dtype == dtype
    assert (grad - r).abs().max() < tol
    assert torch.allclose(r.sum(dim=1), torch.ones(200, dtype=dtype))


def test_identity_is_exact_in_float64_through_the_encoder():
    torch.manual_seed(1)
    encoder = sp.Encoder(784, 16).double()
    a = encoder(torch.rand(32, 784, dtype=torch.float64)).detach().requires_grad_(True)
    sp.lse_loss(a, reduction="sum").backward()
    assert (a.grad - sp.responsibilities(a)).abs().max() < 1e-12


def test_lse_matches_naive_formula_and_is_stable():
    a = torch.tensor([[0.0, 1.0, 2.0], [3.0, 3.0, 3.0]], dtype=torch.float64)
    naive = -torch.log(torch.exp(-a).sum(dim=1))
    assert torch.allclose(sp.lse_loss(a, reduction="none"), naive)
    assert sp.lse_loss(a, reduction="sum") == pytest.approx(float(naive.sum()))
    big = torch.tensor([[1000.0, 1001.0]])  # exp(-1000) underflows in the naive formula
    assert sp.lse_loss(big).item() == pytest.approx(1000 - math.log(1 + math.exp(-1)))


def test_lse_alone_is_minimised_by_silence():
    # LSE(a) >= -log K for a >= 0, with equality only when every unit outputs zero.
    assert sp.lse_loss(torch.zeros(5, 8)).item() == pytest.approx(-math.log(8))
    assert sp.lse_loss(torch.rand(5, 8)).item() > -math.log(8)


def test_variance_loss_known_value():
    a = torch.tensor([[0.0, 0.0], [2.0, 4.0]])  # biased variances 1 and 4
    expected = -(math.log(1 + sp.EPS) + math.log(4 + sp.EPS))
    assert sp.variance_loss(a).item() == pytest.approx(expected, rel=1e-6)


def test_correlation_matches_torch_and_decorrelation_known_values():
    torch.manual_seed(2)
    a = torch.randn(500, 4, dtype=torch.float64)
    assert torch.allclose(sp.correlation(a, eps=0.0), torch.corrcoef(a.T), atol=1e-12)
    col = torch.randn(100, 1, dtype=torch.float64)
    assert sp.decorrelation_loss(torch.cat([col, 2 * col], 1), eps=0.0).item() == pytest.approx(2.0)
    orthogonal = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    assert sp.decorrelation_loss(orthogonal).item() == pytest.approx(0.0, abs=1e-5)


def test_implicit_em_loss_is_the_weighted_sum_of_terms():
    torch.manual_seed(3)
    a = torch.relu(torch.randn(64, 8))
    total = sp.implicit_em_loss(a, lambda_var=0.3, lambda_tc=0.7, lambda_lse=2.0)
    parts = 2.0 * sp.lse_loss(a) + 0.3 * sp.variance_loss(a) + 0.7 * sp.decorrelation_loss(a)
    assert total.item() == pytest.approx(parts.item(), rel=1e-6)
    no_lse = sp.implicit_em_loss(a, 0.3, 0.7, lambda_lse=0.0)
    assert no_lse.item() == pytest.approx((parts - 2.0 * sp.lse_loss(a)).item(), rel=1e-6)


def test_sae_loss_known_value():
    x, x_hat, a = torch.ones(2, 3), torch.zeros(2, 3), torch.tensor([[1.0, -2.0], [0.0, 1.0]])
    assert sp.sae_loss(x, x_hat, a, l1=0.5).item() == pytest.approx(3.0 + 0.5 * 2.0)


def test_sae_loss_computes_in_the_dtype_of_x():
    """As everywhere in vaelib (``as_floats``), the first floating argument sets the dtype."""
    x = torch.tensor([[0.1, 0.2]], dtype=torch.float32)
    x_hat, a = torch.tensor([[0.3, -0.1]], dtype=torch.float64), torch.tensor([[1.0, 0.0]])
    loss = sp.sae_loss(x, x_hat, a, l1=0.5)
    assert loss.dtype == torch.float32
    want = (0.1 - 0.3) ** 2 + (0.2 + 0.1) ** 2 + 0.5 * 1.0  # float64 arithmetic
    assert loss.item() == pytest.approx(want, rel=1e-6)


def test_flatten_inputs_makes_integers_float_and_keeps_float64():
    rows = sp.flatten_inputs(torch.arange(6).reshape(2, 1, 3), 3)
    assert rows.dtype == torch.float32 and rows.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    fine = torch.tensor([[1.0 + 1e-12, 2.0]], dtype=torch.float64)  # 1e-12 is lost in float32
    assert sp.flatten_inputs(fine, 2).dtype == torch.float64
    assert torch.equal(sp.flatten_inputs(fine, 2), fine)


# --- models, parameter counts, bad input ------------------------------------------------------


def test_parameter_counts():
    assert sm.count_params(sp.Encoder()) == 784 * 64 + 64 == 50_240
    assert sm.count_params(sp.SparseAutoencoder()) == 101_200


def test_encoder_accepts_images_and_rows():
    encoder = sp.Encoder(784, 8)
    images = torch.rand(3, 1, 28, 28)
    a = encoder(images)
    assert a.shape == (3, 8) and (a >= 0).all()
    assert torch.equal(a, encoder(images.reshape(3, 784)))
    assert encoder.prototypes.shape == (8, 784)


def test_wrong_feature_size_gives_a_clear_error():
    with pytest.raises(ValueError, match="700 features per example but the model expects 784"):
        sp.Encoder()(torch.rand(4, 700))
    with pytest.raises(ValueError, match="batch dimension"):
        sp.Encoder()(torch.rand(784))


def test_nan_input_gives_a_clear_error():
    x = torch.rand(4, 784)
    x[1, 5] = float("nan")
    with pytest.raises(ValueError, match="x contains NaN"):
        sp.SparseAutoencoder()(x)
    with pytest.raises(ValueError, match="a contains NaN"):
        sp.lse_loss(torch.tensor([[0.0, float("nan")]]))


def test_bad_codes_and_batches_are_refused():
    with pytest.raises(ValueError, match=r"a must have shape \(B, K\)"):
        sp.variance_loss(torch.rand(10))
    with pytest.raises(ValueError, match="at least 2 examples"):
        sp.decorrelation_loss(torch.rand(1, 4))
    with pytest.raises(ValueError, match="batch_size"):
        sp.train_encoder(torch.rand(10, 784), batch_size=64, num_epochs=1)
    with pytest.raises(ValueError, match="width must be at least 2"):
        sp.Encoder(784, 1)
    assert sp.Encoder(784, 2)(torch.rand(3, 784)).shape == (3, 2)  # two units already compete


# --- metrics on hand-built codes -------------------------------------------------------------


def test_dead_units_and_l0():
    a = torch.zeros(2000, 4)
    a[:, 0] = 1.0  # always on
    a[::2, 1] = 2.0  # on half the time
    a[0, 2] = 5.0  # on once: a rate of 1/2000 < 0.1%, so dead
    assert sm.dead_units(a) == 2
    assert sm.dead_units(a, min_rate=1e-4) == 1
    assert sm.l0(a) == pytest.approx(1 + 0.5 + 1 / 2000)
    assert torch.allclose(
        sm.activity_rate(a), torch.tensor([1.0, 0.5, 1 / 2000, 0.0], dtype=torch.float64)
    )


def test_dead_rate_boundary_and_negative_codes():
    """Dead means active on fewer than 0.1% of the inputs: 2 of 2000 (exactly 0.1%) and 3 of
    2000 are alive, 1 of 2000 is dead. L0 counts every nonzero entry, negative ones too."""
    a = torch.zeros(2000, 4, dtype=torch.float64)
    a[:1, 0], a[:2, 1], a[:3, 2] = 1.0, 1.0, 1.0
    a[:, 3] = -1.0  # never active (a > 0) but nonzero
    assert sm.dead_units(a) == 2  # units 0 and 3
    assert sm.redundancy(a) == 1  # among the live units 1 and 2 only: corr = sqrt(2/3)
    assert sm.l0(a) == pytest.approx(1 + 6 / 2000)


def test_redundancy_counts_correlated_live_pairs():
    torch.manual_seed(4)
    base = torch.relu(torch.randn(1000, 1))
    other = torch.relu(torch.randn(1000, 1))
    a = torch.cat(
        [base, 2 * base, base + 0.01 * torch.rand(1000, 1), other, torch.zeros(1000, 1)], 1
    )
    assert sm.redundancy(a) == 3  # the three copies of base pair up three ways; dead unit ignored
    assert sm.redundancy(a[:, 3:]) == 0


def test_redundancy_counts_anti_correlated_pairs_and_respects_the_threshold():
    g = torch.Generator().manual_seed(11)
    u = torch.rand(2000, 1, generator=g, dtype=torch.float64)
    noise = torch.rand(2000, 3, generator=g, dtype=torch.float64)
    # unit 1 = 1 - unit 0 (corr -1); unit 2 mixes u and noise (|corr| ~ 0.7); unit 3 is noise
    a = torch.cat([u, 1 - u, u + 0.7 * noise[:, :1], noise[:, 1:2]], 1)
    corr = np.corrcoef(a.numpy().T)
    upper = np.abs(corr[np.triu_indices(4, k=1)])
    for threshold in (0.1, 0.5, 0.75, 0.99):
        assert sm.redundancy(a, threshold=threshold) == int((upper > threshold).sum())
    assert sm.redundancy(a, threshold=0.99) == 1  # only the anti-correlated pair


def test_code_metrics_values_against_direct_formulas():
    g = torch.Generator().manual_seed(12)
    a = torch.relu(torch.randn(500, 6, generator=g, dtype=torch.float64) - 0.3)
    a[:, 5] = 0.0  # a dead unit
    a[:, 4] = 2 * a[:, 3] + 0.01 * a[:, 0]  # redundant with unit 3
    metrics = sm.code_metrics(a)
    codes = a.numpy()
    r = np.exp(-codes) / np.exp(-codes).sum(axis=1, keepdims=True)
    r_bar = r.mean(axis=0)
    live = codes[:, (codes > 0).mean(axis=0) >= sm.DEAD_RATE]
    corr = np.abs(np.corrcoef(live.T))[np.triu_indices(live.shape[1], k=1)]
    assert metrics["dead"] == 1
    assert metrics["l0"] == pytest.approx((codes != 0).sum(axis=1).mean())
    assert metrics["redundant_pairs"] == int((corr > sm.REDUNDANT_CORR).sum()) >= 1
    assert metrics["resp_entropy"] == pytest.approx(-(r * np.log(r)).sum(axis=1).mean())
    assert metrics["usage_entropy"] == pytest.approx(-(r_bar * np.log(r_bar)).sum())
    assert metrics["max_entropy"] == pytest.approx(math.log(6))


def test_responsibility_and_usage_entropy():
    k = 8
    assert sm.responsibility_entropy(torch.zeros(10, k)) == pytest.approx(math.log(k))
    winner = torch.full((k, k), 50.0) - 50.0 * torch.eye(k)  # input i: unit i has energy 0
    assert sm.responsibility_entropy(winner) == pytest.approx(0.0, abs=1e-12)
    assert sm.usage_entropy(winner) == pytest.approx(math.log(k))
    one_winner = winner[[0] * k]  # every input claimed by unit 0: usage collapses
    assert sm.usage_entropy(one_winner) == pytest.approx(0.0, abs=1e-12)


def test_explained_variance_and_reconstruction_error():
    torch.manual_seed(5)
    x = torch.rand(50, 6)
    assert sm.explained_variance(x, x) == pytest.approx(1.0)
    assert sm.explained_variance(x, x.mean(0).expand_as(x)) == pytest.approx(0.0, abs=1e-12)
    assert sm.reconstruction_error(torch.ones(4, 3), torch.zeros(4, 3)) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="must match"):
        sm.explained_variance(x, x[:, :5])


def test_probe_accuracy_separable_and_random():
    g = torch.Generator().manual_seed(6)
    y = torch.randint(0, 3, (600,), generator=g)
    z = torch.randn(600, 5, generator=g) * 0.1 + torch.nn.functional.one_hot(y, 5).double()
    assert sm.probe_accuracy(z[:400], y[:400], z[400:], y[400:], max_iter=50) == 1.0
    noise = torch.randn(600, 5, generator=g)
    assert sm.probe_accuracy(noise[:400], y[:400], noise[400:], y[400:], max_iter=50) < 0.5
    with pytest.raises(ValueError, match="one label"):
        sm.probe_accuracy(z, y[:10], z, y)


def reference_probe_accuracy(z_train, y_train, z_test, y_test, weight_decay):
    """The same penalised multinomial logistic regression, solved by SciPy in NumPy: features
    standardised with the training mean and (ddof = 1) standard deviation, the bias unpenalised."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    mean, std = z_train.mean(0), z_train.std(0, ddof=1)
    a, b = (z_train - mean) / std, (z_test - mean) / std
    n, f = a.shape
    c = int(max(y_train.max(), y_test.max())) + 1

    def objective(theta):
        w, bias = theta[: c * f].reshape(c, f), theta[c * f :]
        logits = a @ w.T + bias
        log_p = logits - logsumexp(logits, axis=1, keepdims=True)
        ce = -log_p[np.arange(n), y_train].mean()
        grad_logits = (np.exp(log_p) - np.eye(c)[y_train]) / n
        grad_w = grad_logits.T @ a + 2 * weight_decay * w
        return ce + weight_decay * (w**2).sum(), np.concatenate(
            [grad_w.ravel(), grad_logits.sum(0)]
        )

    theta = minimize(objective, np.zeros(c * f + c), jac=True, method="L-BFGS-B",
                     options={"maxiter": 5000, "gtol": 1e-12, "ftol": 1e-15}).x  # fmt: skip
    w, bias = theta[: c * f].reshape(c, f), theta[c * f :]
    return float(((b @ w.T + bias).argmax(1) == y_test).mean())


@pytest.mark.parametrize("weight_decay", [1e-4, 0.05, 1.0])
def test_probe_accuracy_against_a_scipy_fit(weight_decay):
    """Overlapping classes, features far from 0 and of unequal scales: standardising, the
    penalty and the fit all move the boundary, so the held-out accuracy pins them down."""
    g = np.random.default_rng(15)
    y = g.integers(0, 3, 900)
    z = (
        4.0
        + np.eye(3)[y] @ np.array([[1.0, 0, 0.5], [0, 1, 0.5], [0, 0, 0]])
        + g.normal(size=(900, 3))
    )
    z = z * np.array([1.0, 30.0, 0.01])
    want = reference_probe_accuracy(z[:600], y[:600], z[600:], y[600:], weight_decay)
    got = sm.probe_accuracy(torch.from_numpy(z[:600]), torch.from_numpy(y[:600]),
                            torch.from_numpy(z[600:]), torch.from_numpy(y[600:]),
                            weight_decay=weight_decay)  # fmt: skip
    assert 0.4 < want < 0.9 and got == pytest.approx(want, abs=1 / 300 + 1e-12)


def test_probe_with_a_class_missing_from_the_held_out_set():
    g = torch.Generator().manual_seed(16)
    y = torch.arange(300) % 3
    z = torch.randn(300, 3, generator=g, dtype=torch.float64) * 0.1 + torch.eye(3)[y].double()
    keep = y[200:] < 2  # the test set has classes 0 and 1 only
    acc = sm.probe_accuracy(z[:200], y[:200], z[200:][keep], y[200:][keep], max_iter=50)
    assert acc == 1.0


def test_two_rows_and_one_row_of_codes():
    two = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # two live units, perfectly anti-correlated
    assert sm.redundancy(two) == 1
    one = torch.tensor([[0.0, 2.0, -1.0]])
    assert sm.l0(one) == 2.0 and sm.activity_rate(one).tolist() == [0.0, 1.0, 0.0]
    assert sm.dead_units(one) == 2
    metrics = sm.code_metrics(two)  # two rows suffice for every code metric
    assert metrics["redundant_pairs"] == 1 and metrics["dead"] == 0 and metrics["l0"] == 1.0
    # mean and sample standard deviation (ddof = 1) over seeds, with two and three runs
    assert sm.mean_sd([{"m": 1.0}, {"m": 2.0}])["m"] == pytest.approx((1.5, math.sqrt(0.5)))
    assert sm.mean_sd([{"m": 1.0}, {"m": 3.0}, {"m": 5.0}])["m"] == pytest.approx((3.0, 2.0))


# --- implicit decoder and training ---------------------------------------------------------------


def test_implicit_decoder_is_the_least_squares_fit(mnist_small):
    torch.manual_seed(7)
    encoder = sp.Encoder(784, 16)
    x = mnist_small[:256]
    scale, offset = sp.fit_implicit_decoder(encoder, x)
    a = encoder(x).detach()
    best = sm.reconstruction_error(x, sp.implicit_decode(encoder, a, scale, offset))
    for factor in (0.9, 1.1):
        worse_offset = offset + 0.01
        assert (
            sm.reconstruction_error(x, sp.implicit_decode(encoder, a, scale * factor, offset))
            > best
        )
        assert (
            sm.reconstruction_error(x, sp.implicit_decode(encoder, a, scale, worse_offset)) > best
        )


def test_implicit_decoder_fits_a_code_of_small_variance():
    """The least-squares scale and per-pixel offset, against numpy's lstsq, for codes whose
    summed squared deviation is below 1 (only exactly 0 means there is nothing to scale)."""
    encoder = sp.Encoder(3, 2)
    with torch.no_grad():
        encoder.linear.weight.copy_(torch.tensor([[0.2, -0.1, 0.1], [0.1, 0.3, -0.2]]))
        encoder.linear.bias.copy_(torch.tensor([0.05, 0.1]))
    x = torch.rand(6, 3, generator=torch.Generator().manual_seed(15), dtype=torch.float64)
    w = encoder.linear.weight.detach().double().numpy()
    b = encoder.linear.bias.detach().double().numpy()
    u = np.maximum(x.numpy() @ w.T + b, 0) @ w  # (N, D): W^T a for each row
    assert 0 < ((u - u.mean(0)) ** 2).sum() < 1
    # x[n, d] ~ scale * u[n, d] + offset[d]: one column for u, one indicator column per pixel
    design = np.concatenate([u.reshape(-1, 1), np.tile(np.eye(3), (6, 1))], axis=1)
    coef = np.linalg.lstsq(design, x.numpy().reshape(-1), rcond=None)[0]
    scale, offset = sp.fit_implicit_decoder(encoder, x)
    assert scale == pytest.approx(coef[0], rel=1e-6)
    np.testing.assert_allclose(offset.numpy(), coef[1:], rtol=1e-6, atol=1e-6)


def test_training_is_seeded(mnist_small):
    kw = dict(width=8, num_epochs=1, batch_size=128, seed=3)
    first, h1 = sp.train_encoder(mnist_small, **kw)
    second, h2 = sp.train_encoder(mnist_small, **kw)
    assert torch.equal(first.prototypes, second.prototypes) and h1 == h2


def test_sae_training_lowers_its_loss(mnist_small):
    sae, history = sp.train_sae(mnist_small, width=16, num_epochs=4, batch_size=128, lr=1e-2)
    assert history[-1] < 0.7 * history[0]


def test_ablation_claims_at_small_size(mnist_small):
    """The chapter's claims: LSE alone kills most units; the variance term keeps them alive but
    redundant; decorrelation removes the redundancy; LSE makes the code sparser."""
    kw = dict(width=16, num_epochs=8, batch_size=128, seed=0)
    configs = {
        "lse": dict(lambda_var=0.0, lambda_tc=0.0),
        "var": dict(lambda_var=0.01, lambda_tc=0.0),
        "full": dict(lambda_var=0.01, lambda_tc=0.01),
        "nolse": dict(lambda_var=0.01, lambda_tc=0.01, lambda_lse=0.0),
    }
    codes = {}
    for name, weights in configs.items():
        model, _ = sp.train_encoder(mnist_small, **weights, **kw)
        with torch.no_grad():
            codes[name] = model(mnist_small)
    assert sm.dead_units(codes["lse"]) > 16 // 2
    assert sm.dead_units(codes["var"]) == 0 and sm.dead_units(codes["full"]) == 0
    assert sm.redundancy(codes["var"]) > 10 * max(1, sm.redundancy(codes["full"]))
    assert sm.l0(codes["full"]) < 0.75 * sm.l0(codes["nolse"])


def test_scaling_the_codes_lowers_the_variance_term_only():
    """Exercise 2: the objective is unbounded below (a ReLU code scaled by c)."""
    torch.manual_seed(8)
    a, c, k = torch.relu(torch.randn(256, 8, dtype=torch.float64)), 3.0, 8
    shift = sp.variance_loss(c * a, eps=0.0) - sp.variance_loss(a, eps=0.0)
    assert shift.item() == pytest.approx(-2 * k * math.log(c))
    change = sp.decorrelation_loss(c * a, eps=0.0) - sp.decorrelation_loss(a, eps=0.0)
    assert change.item() == pytest.approx(0.0, abs=1e-10)


def test_evaluate_and_mean_sd(mnist_small):
    torch.manual_seed(9)
    labels = torch.arange(len(mnist_small)) % 10
    x_train, x_test = mnist_small[:512], mnist_small[512:]
    y_train, y_test = labels[:512], labels[512:]
    encoder, sae = sp.Encoder(784, 8), sp.SparseAutoencoder(784, 8)
    iem = sm.evaluate(encoder, x_train, y_train, x_test, y_test, probe_iter=5)
    std = sm.evaluate(sae, x_train, y_train, x_test, y_test, probe_iter=5)
    assert iem.keys() == std.keys() and iem["params"] == 784 * 8 + 8
    assert math.isnan(std["scale"]) and not math.isnan(iem["scale"])
    assert iem["explained_variance"] >= -1e-9  # the least-squares fit can always choose scale 0
    assert std["params"] == 2 * 784 * 8 + 8 + 784
    # the values, recomputed here: codes, reconstructions (SAE decoder / implicit decoder fitted
    # by least squares on the training set) and their errors
    xt = x_test.double().numpy()
    with torch.no_grad():
        a_std = sae.encoder(x_test).double().numpy()
        w, b = encoder.linear.weight.double().numpy(), encoder.linear.bias.double().numpy()
        recon_std = sae.decoder(sae.encoder(x_test)).double().numpy()
    a_tr = np.maximum(x_train.double().numpy() @ w.T + b, 0)
    u, x_tr = a_tr @ w, x_train.double().numpy()
    uc, xc = u - u.mean(0), x_tr - x_tr.mean(0)
    scale = (uc * xc).sum() / (uc**2).sum()
    offset = x_tr.mean(0) - scale * u.mean(0)
    recon_iem = scale * np.maximum(xt @ w.T + b, 0) @ w + offset
    for metrics, recon, codes in ((iem, recon_iem, np.maximum(xt @ w.T + b, 0)),
                                  (std, recon_std, a_std)):  # fmt: skip
        sse = ((xt - recon) ** 2).sum(axis=1)
        assert metrics["mse"] == pytest.approx(sse.mean(), rel=1e-4)
        total = ((xt - xt.mean(0)) ** 2).sum()
        assert metrics["explained_variance"] == pytest.approx(1 - sse.sum() / total, abs=1e-4)
        assert metrics["l0"] == pytest.approx((codes > 0).sum(axis=1).mean(), rel=1e-6)
        assert metrics["max_entropy"] == pytest.approx(math.log(8))
        assert 0.0 <= metrics["probe_accuracy"] <= 1.0
    assert iem["scale"] == pytest.approx(scale, rel=1e-4)
    codes_train = torch.as_tensor(a_tr)
    probe = sm.probe_accuracy(codes_train, y_train, torch.as_tensor(np.maximum(xt @ w.T + b, 0)),
                              y_test, max_iter=5)  # fmt: skip
    assert iem["probe_accuracy"] == pytest.approx(probe, abs=0.02)
    with pytest.raises(TypeError, match="Encoder or a SparseAutoencoder"):
        sm.evaluate(torch.nn.Linear(784, 8), x_train, y_train, x_test, y_test)
    stats = sm.mean_sd([{"m": 1.0}, {"m": 2.0}, {"m": 3.0}])
    assert stats["m"] == pytest.approx((2.0, 1.0))
    assert sm.mean_sd([{"m": 5.0}])["m"] == (5.0, 0.0)


def test_training_history_is_the_mean_batch_loss_and_seed_sets_the_weights():
    """With lr = 0 nothing moves: each epoch's entry is the mean loss over its full batches
    (the ragged tail dropped), recomputed here; the initial weights come from manual_seed(seed)."""
    g = torch.Generator().manual_seed(13)
    x = torch.rand(10, 12, generator=g)
    kw = dict(width=4, num_epochs=2, lr=0.0, seed=5)
    encoder, history = sp.train_encoder(x, batch_size=10, lambda_var=0.3, lambda_tc=0.2, **kw)
    torch.manual_seed(5)
    fresh = sp.Encoder(12, 4)
    assert torch.equal(encoder.prototypes, fresh.prototypes)  # the seed, and lr = 0 kept them
    with torch.no_grad():
        a = torch.relu(x @ fresh.linear.weight.T + fresh.linear.bias)
    expected = (sp.lse_loss(a) + 0.3 * sp.variance_loss(a) + 0.2 * sp.decorrelation_loss(a)).item()
    assert history == pytest.approx([expected] * 2, rel=1e-6)
    # batches of 4 out of 10: two per epoch in the generator's order, the last 2 rows dropped
    _, history = sp.train_encoder(x, batch_size=4, lambda_var=0.3, lambda_tc=0.2, **kw)
    order = torch.randperm(10, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        losses = [sp.implicit_em_loss(fresh(x[order[i : i + 4]]), 0.3, 0.2).item() for i in (0, 4)]
    assert history[0] == pytest.approx(sum(losses) / 2, rel=1e-6)
    sae, history = sp.train_sae(x, batch_size=10, l1=0.5, **kw)
    torch.manual_seed(5)
    fresh_sae = sp.SparseAutoencoder(12, 4)
    assert torch.equal(sae.decoder.weight, fresh_sae.decoder.weight)
    with torch.no_grad():
        x_hat, codes = fresh_sae(x)
        want = ((x - x_hat) ** 2).sum(1).mean() + 0.5 * codes.abs().sum(1).mean()
    assert history == pytest.approx([want.item()] * 2, rel=1e-6)


def test_the_smallest_batch_and_a_ragged_tail_of_one():
    """3 examples in batches of 2: one batch per epoch, the last example dropped."""
    x = torch.rand(3, 5, generator=torch.Generator().manual_seed(16))
    kw = dict(width=3, num_epochs=1, batch_size=2, lr=0.0, seed=6)
    _, history = sp.train_encoder(x, lambda_var=0.3, lambda_tc=0.2, **kw)
    torch.manual_seed(6)
    fresh = sp.Encoder(5, 3)
    order = torch.randperm(3, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        a = torch.relu(x[order[:2]] @ fresh.linear.weight.T + fresh.linear.bias)
    expected = sp.lse_loss(a) + 0.3 * sp.variance_loss(a) + 0.2 * sp.decorrelation_loss(a)
    assert history == pytest.approx([expected.item()], rel=1e-6)
    with pytest.raises(ValueError, match="batch_size must be between 2 and the 1 examples"):
        sp.train_encoder(x[:1], batch_size=2)


def test_training_defaults_are_the_documented_ones(monkeypatch):
    """Chapter 7's settings: 64 units, lambda_var = lambda_tc = 0.01, lambda_lse = 1, batches of
    256, Adam at lr 1e-3, seed 0, 30 epochs; the SAE's L1 weight 0.1. Recorded instead of
    training; the objective each model would be trained on is recomputed here."""
    calls = []
    record = lambda model, x, loss_fn, *args: calls.append((model, loss_fn, args)) or []
    monkeypatch.setattr(sp, "_train", record)
    x = torch.rand(256, 6, generator=torch.Generator().manual_seed(17))
    encoder, _ = sp.train_encoder(x)
    sae, _ = sp.train_sae(x)
    (model, loss_fn, args), (sae_model, sae_loss_fn, sae_args) = calls
    assert model is encoder and sae_model is sae
    assert args == sae_args == (30, 256, 1e-3, 0)  # num_epochs, batch_size, lr, seed
    assert encoder.width == sae.width == 64
    torch.manual_seed(0)
    assert torch.equal(encoder.prototypes, sp.Encoder(6, 64).prototypes)  # seed 0
    with torch.no_grad():
        a = encoder(x).double().numpy()
        x_hat, codes = sae(x)
        got, got_sae = loss_fn(encoder, x).item(), sae_loss_fn(sae, x).item()
    lse = -np.log(np.exp(-a).sum(1)).mean()
    var = -np.log(a.var(0) + sp.EPS).sum()
    centred = a - a.mean(0)
    z = centred / np.sqrt((centred**2).mean(0) + sp.EPS)
    tc = ((z.T @ z / len(a) - np.eye(64)) ** 2).sum()
    assert got == pytest.approx(lse + 0.01 * var + 0.01 * tc, rel=1e-5)
    want_sae = ((x - x_hat) ** 2).sum(1).mean() + 0.1 * codes.abs().sum(1).mean()
    assert got_sae == pytest.approx(want_sae.item(), rel=1e-6)


def test_silent_units_stay_finite_in_every_term():
    """A unit that never fires has variance 0: log Var and Corr use the floor eps."""
    a = torch.tensor([[0.0, 1.0, 0.0], [0.0, 3.0, 2.0], [0.0, 2.0, 4.0]], dtype=torch.float64)
    var = a.var(dim=0, unbiased=False)
    want = -(math.log(sp.EPS) + math.log(var[1].item() + sp.EPS) + math.log(var[2].item() + sp.EPS))
    assert sp.variance_loss(a).item() == pytest.approx(want, rel=1e-12)
    corr = sp.correlation(a)
    assert torch.equal(corr[0], torch.zeros(3, dtype=torch.float64))
    assert torch.isfinite(corr).all() and corr[1, 1].item() == pytest.approx(1.0, abs=1e-5)
    rho = np.corrcoef(a[:, 1].numpy(), a[:, 2].numpy())[0, 1]
    assert corr[1, 2].item() == pytest.approx(rho, abs=1e-5)
    # ||Corr - I||^2: the silent unit's missing 1 on the diagonal, and the off-diagonal pair twice
    assert sp.decorrelation_loss(a).item() == pytest.approx(1 + 2 * rho**2, abs=1e-4)


def test_implicit_decoder_of_a_silent_encoder_is_the_mean_image():
    encoder = sp.Encoder(12, 3)
    with torch.no_grad():
        encoder.linear.bias.fill_(-100.0)  # every code is 0: nothing to scale
    x = torch.rand(20, 12, generator=torch.Generator().manual_seed(14))
    scale, offset = sp.fit_implicit_decoder(encoder, x)
    assert scale == 0.0 and torch.allclose(offset, x.mean(0))
    x_hat = sp.implicit_decode(encoder, encoder(x), scale, offset)
    assert torch.allclose(x_hat, x.mean(0).expand(20, 12))


def test_prototype_images_are_scaled_rows_of_w():
    torch.manual_seed(10)
    encoder = sp.Encoder(784, 8)
    images = sp.prototype_images(encoder, 3)
    assert images.shape == (3, 28, 28)
    assert torch.allclose(images.abs().amax(dim=(1, 2)), torch.ones(3, dtype=torch.float64))
    row = encoder.prototypes[1].double()
    assert torch.allclose(images[1].flatten(), row / row.abs().max())
