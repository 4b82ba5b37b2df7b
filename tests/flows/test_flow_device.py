"""Flows on the CuPy backend, checked with the strict stand-in (shared/tools/fakecupy): no device reads.

A training step of a flow built with ``validate_args=False`` (ActNorm initialisation included),
sampling at a temperature and ``sample_and_log_prob`` run under ``allow_synchronize(False)``, which
raises at the first device-to-host read; the results must match the NumPy backend's on the same weights.
"""

from __future__ import annotations

import textwrap

from tests.test_device_syncs import pytestmark, run_under_fakecupy  # noqa: F401  (skip where fakecupy is absent)

SCRIPT = """
    import json
    import numpy as np
    import cupy
    import cupyx
    import minibayes as mb
    from minibayes import flows, optim

    assert cupy.__version__.endswith("+fake")
    mb.set_default_dtype("float64")
    x = np.random.default_rng(0).normal(size=(32, 4))
    results = {}
    for backend in ("numpy", "cupy"):
        with mb.using(backend):
            mb.seed(0)
            flow = flows.Flow(None, [
                flows.ActNorm(4), flows.AffineCoupling(flows.alternating_mask(4), hidden=8),
                flows.Permutation(4, "random", random_state=1), flows.InvertibleLinear(4, random_state=2),
                flows.MaskedAutoregressive(4, hidden=(8,)), flows.Permutation(4, "reverse"),
            ], validate_args=False)
            optimizer = optim.Adam(flow.parameters(), lr=1e-2)
            device_x = mb.asarray(x)
            guard = cupyx.allow_synchronize(False) if backend == "cupy" else open("/dev/null")
            with guard:
                for _ in range(3):
                    optimizer.zero_grad()
                    loss = flow.loss(device_x)
                    loss.backward()
                    optimizer.step()
                cold = flow.sample(5, temperature=0.7)
                drawn, log_density = flow.sample_and_log_prob(5)
            results[backend] = {"loss": float(loss.numpy()), "log_prob": flow.log_prob(device_x).numpy().tolist(),
                                "shapes": [list(cold.shape), list(drawn.shape), list(log_density.shape)]}
    print(json.dumps(results))
"""


def test_a_flow_trains_and_samples_on_cupy_without_reading_the_device():
    results = run_under_fakecupy(textwrap.dedent(SCRIPT))
    numpy_run, cupy_run = results["numpy"], results["cupy"]
    assert cupy_run["shapes"] == [[5, 4], [5, 4], [5]]
    assert abs(cupy_run["loss"] - numpy_run["loss"]) < 1e-10
    assert max(abs(a - b) for a, b in zip(cupy_run["log_prob"], numpy_run["log_prob"])) < 1e-10
