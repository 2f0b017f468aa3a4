"""Training diagnostics (docs/INSIGHT.md): the per-step gradient curve against autograd on explicitly stepped
cells, the unrolled recurrence and gates against the fused kernels, training unchanged by them, the verdict
rules on made-up histories, and short real runs that must give their verdicts."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from helpers import read_results
from suite.backbones import PaddedRecurrence, RecurrentBackbone
from suite.config import BackboneConfig
from suite.insight import verdicts as V
from suite.insight.probe import gradient_pass
from suite.insight.store import FILE_NAME, read_diagnostics
from suite.insight.unroll import unroll

CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}
LENGTHS = [9, 4, 1, 7, 9]


@pytest.fixture(autouse=True)
def one_thread():
    """These tensors are tiny: a second thread only adds waiting, a lot of it on a loaded machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- the gradient curve: equal to autograd over explicitly stepped cells --------------------------------------

class Tiny(nn.Module):
    """A loss that reads every output and the top layer's final states, through either encoder."""

    def __init__(self, cell: str, kind: str):
        super().__init__()
        cfg = BackboneConfig(cell=cell, hidden=4, layers=2, bidirectional=True)
        self.kind = kind
        self.encoder = RecurrentBackbone(3, cfg) if kind == "packed" else PaddedRecurrence(3, cfg)
        self.out_weights = torch.randn(len(LENGTHS), max(LENGTHS), 8, dtype=torch.float64)

    def loss_on(self, batch):
        x, lengths = batch
        if self.kind == "packed":
            outputs, state = self.encoder(x, lengths)
            top = self.encoder.last_hidden(state)
        else:
            outputs, top = self.encoder(x, lengths)
        return (outputs * self.out_weights).sum() + (top ** 2).sum()

    def layer(self, depth: int, direction: int) -> tuple[nn.RNNBase, str]:
        """The fused module holding a layer's weights, and their name suffix in it."""
        if self.kind == "packed":
            return self.encoder.rnn, f"_l{depth}" + ("_reverse" if direction else "")
        return self.encoder.layers[depth][direction].rnn, "_l0"


def stepped_reference(model: Tiny, cell: str, x: torch.Tensor, lengths: list[int]):
    """The same loss with each sequence run alone, one cell step at a time over its own length; returns
    ||dL/dh_t|| per (layer, direction) and reading step, over the sequences that have that step."""
    states: dict[tuple[int, int], list[list[torch.Tensor]]] = {}
    outputs, tops = [], []
    for b, n in enumerate(lengths):
        layer_in, finals = x[b, :n], {}
        for depth in range(2):
            per_direction = []
            for direction in range(2):
                fused, suffix = model.layer(depth, direction)
                step = CELLS[cell](layer_in.shape[1], 4).double()
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    setattr(step, kind, getattr(fused, kind + suffix))
                h = torch.zeros(1, 4, dtype=torch.float64)
                c = torch.zeros_like(h)
                out = [None] * n
                kept = states.setdefault((depth, direction), [[] for _ in lengths])[b]
                for t in (range(n) if direction == 0 else reversed(range(n))):
                    if cell == "lstm":
                        h, c = step(layer_in[t:t + 1], (h, c))
                    else:
                        h = step(layer_in[t:t + 1], h)
                    kept.append(h)
                    out[t] = h
                per_direction.append(torch.cat(out))
                finals[depth, direction] = h[0]
            layer_in = torch.cat(per_direction, dim=1)
        outputs.append(nn.functional.pad(layer_in, (0, 0, 0, max(lengths) - n)))
        tops.append(torch.cat([finals[1, 0], finals[1, 1]]))
    loss = (torch.stack(outputs) * model.out_weights).sum() + (torch.stack(tops) ** 2).sum()
    keys = sorted(states)
    flat = [h for key in keys for seq in states[key] for h in seq]
    grads = iter(torch.autograd.grad(loss, flat))
    curves = {}
    for key in keys:
        per_seq = [[next(grads)[0] for _ in seq] for seq in states[key]]
        curve = [torch.sqrt(sum((g[t] ** 2).sum() for g in per_seq if len(g) > t)) for t in range(max(lengths))]
        curves[key] = torch.stack(curve)
    return float(loss.detach()), curves


@pytest.mark.parametrize("kind", ["packed", "padded"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_gradient_curve_equals_autograd_over_stepped_cells(cell, kind):
    torch.manual_seed(0)
    model = Tiny(cell, kind).double()
    x = torch.randn(len(LENGTHS), max(LENGTHS), 3, dtype=torch.float64)
    lengths = torch.tensor(LENGTHS)
    result = gradient_pass(model, (x, lengths))
    loss, reference = stepped_reference(model, cell, x, LENGTHS)
    assert result.problems == []
    assert result.loss == pytest.approx(loss, rel=1e-12)
    names = {(d, r): f"encoder.l{d}" + (".reverse" if r else "") for d in range(2) for r in range(2)}
    assert sorted(result.curves) == sorted(names.values())
    for key, name in names.items():
        torch.testing.assert_close(result.curves[name], reference[key], rtol=1e-5, atol=1e-12)
        record = result.layers[name]
        assert record["steps"] == max(LENGTHS) and record["t"] == list(range(1, 10))
        assert record["grad"] == pytest.approx(reference[key].tolist(), rel=1e-3)
        assert record["check"] < 1e-9
    # the gradient ratio: each sequence's first step over its last step the loss reads
    assert all(r["gradient_ratio"] > 0 for r in result.layers.values())


def test_the_gradient_ratio_is_the_first_over_the_last_step_the_loss_reads():
    """A loss on the last real step of each sequence only: the ratio pairs each sequence's own ends."""
    torch.manual_seed(1)
    backbone = RecurrentBackbone(2, BackboneConfig(cell="rnn", hidden=3)).double()

    class Last(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone

        def loss_on(self, batch):
            x, lengths = batch
            _, state = self.backbone(x, lengths)
            return (state ** 2).sum()

    x = torch.randn(2, 6, 2, dtype=torch.float64)
    lengths = torch.tensor([6, 3])
    result = gradient_pass(Last(), (x, lengths))
    states = [unroll(backbone.rnn, x[b:b + 1, :n]).traces[0].states for b, n in enumerate([6, 3])]
    loss = sum((s[-1] ** 2).sum() for s in states)
    grads = [torch.autograd.grad(loss, s, retain_graph=True) for s in states]
    first = torch.sqrt(sum(g[0].pow(2).sum() for g in grads))
    last = torch.sqrt(sum(g[-1].pow(2).sum() for g in grads))
    assert result.layers["backbone.l0"]["gradient_ratio"] == pytest.approx(float(first / last), rel=1e-3)


def test_calls_that_continue_one_another_are_one_sequence():
    """A decoder stepped one input at a time, each call given the state the last returned, is recorded
    as the one sequence it is: the same curve as a single call over all the steps."""
    torch.manual_seed(2)
    backbone = RecurrentBackbone(2, BackboneConfig(cell="lstm", hidden=3)).double()
    x = torch.randn(4, 5, 2, dtype=torch.float64)

    class Whole(nn.Module):
        def __init__(self):
            super().__init__()
            self.decoder = backbone

        def loss_on(self, batch):
            out, _ = self.decoder(batch)
            return out.sum()

    class Stepped(Whole):
        def loss_on(self, batch):
            state, outs = None, []
            for t in range(batch.shape[1]):
                out, state = self.decoder(batch[:, t:t + 1], state=state)
                outs.append(out)
            return torch.cat(outs, dim=1).sum()

    whole, stepped = gradient_pass(Whole(), x), gradient_pass(Stepped(), x)
    assert list(stepped.curves) == ["decoder.l0"]
    torch.testing.assert_close(stepped.curves["decoder.l0"], whole.curves["decoder.l0"], rtol=1e-9, atol=0)


# --- the recomputation against the fused kernels -------------------------------------------------------------

@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_unrolled_recurrence_equals_the_fused_kernel(cell):
    torch.manual_seed(3)
    backbone = RecurrentBackbone(3, BackboneConfig(cell=cell, hidden=6, layers=2, bidirectional=True))
    x = torch.randn(5, 9, 3)
    lengths = torch.tensor(LENGTHS)
    for given in (None, lengths):
        state = backbone.initial_state(5)
        state = tuple(torch.randn_like(s) for s in state) if isinstance(state, tuple) else torch.randn_like(state)
        fused_out, fused_state = backbone.fused(x, given, state)
        unrolled = backbone.unrolled(x, given, state)
        torch.testing.assert_close(unrolled.outputs, fused_out, rtol=0, atol=1e-5)
        for a, b in zip(*(s if isinstance(s, tuple) else (s,) for s in (unrolled.state, fused_state))):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_recomputed_gates_are_those_of_the_fused_outputs(cell):
    """The gates the unrolled pass keeps equal the gate equations evaluated on the fused kernel's own
    outputs (each step's input and the fused previous output)."""
    torch.manual_seed(4)
    rnn = RecurrentBackbone(3, BackboneConfig(cell=cell, hidden=5)).rnn
    x = torch.randn(4, 8, 3)
    with torch.no_grad():
        out, _ = rnn(x)
        previous = torch.cat([torch.zeros_like(out[:, :1]), out[:, :-1]], dim=1)
        xs = x @ rnn.weight_ih_l0.T + rnn.bias_ih_l0
        hs = previous @ rnn.weight_hh_l0.T + rnn.bias_hh_l0
        trace = unroll(rnn, x).traces[0]
    if cell == "lstm":
        i, f, _, o = (xs + hs).chunk(4, dim=-1)
        expected = {"input": i.sigmoid(), "forget": f.sigmoid(), "output": o.sigmoid()}
    else:
        (xr, xz, _), (hr, hz, _) = xs.chunk(3, dim=-1), hs.chunk(3, dim=-1)
        expected = {"reset": (xr + hr).sigmoid(), "update": (xz + hz).sigmoid()}
    assert sorted(trace.gates) == sorted(expected)
    for name, value in expected.items():
        torch.testing.assert_close(trace.gates[name], value.transpose(0, 1), rtol=0, atol=1e-5)


def test_a_recomputation_that_differs_from_the_fused_kernel_is_refused(monkeypatch):
    import suite.insight.unroll as unroll_module

    original = unroll_module._run

    def wrong(cell, seq, weights, h, c, valid):
        hs, h, c, gates = original(cell, seq, weights, h, c, valid)
        return [s * 1.01 for s in hs], h, c, gates

    monkeypatch.setattr(unroll_module, "_run", wrong)
    model = Tiny("gru", "packed")
    model.out_weights = model.out_weights.float()
    result = gradient_pass(model, (torch.randn(5, 9, 3), torch.tensor(LENGTHS)))
    assert result.layers == {}
    assert len(result.problems) == 1 and "differs from the fused kernel" in result.problems[0]


def test_the_pass_leaves_modes_generators_and_gradients_as_they_were():
    model = Tiny("lstm", "packed")
    model.out_weights = model.out_weights.float()
    model.train()
    model.encoder.eval()  # a submodule's own mode is kept too
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    batch = (torch.randn(5, 9, 3), torch.tensor(LENGTHS))
    before = torch.get_rng_state()
    gradient_pass(model, batch)
    assert torch.equal(torch.get_rng_state(), before)
    assert model.training and not model.encoder.training
    assert all(torch.equal(p.grad, torch.ones_like(p)) for p in model.parameters())


def test_a_module_without_a_recomputable_loss_says_so():
    class Opaque(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(2, 3)

    with pytest.raises(NotImplementedError, match="loss_on"):
        gradient_pass(Opaque(), torch.zeros(1, 2, 2))

    class NoBackbone(Opaque):
        def loss_on(self, batch):
            return self.rnn(batch)[0].sum()

    result = gradient_pass(NoBackbone(), torch.zeros(1, 2, 2))
    assert result.layers == {} and "no RecurrentBackbone" in result.problems[0]


# --- the verdict rules on made-up histories ------------------------------------------------------------------

def epochs(train, val, **extra):
    return [{"kind": "epoch", "epoch": i, "train_loss": t, "val": v, "steps": 10, "grad_norm": {"median": 1.0, "max": 2.0},
             "nonfinite_grads": 0, "nonfinite_losses": 0, **extra} for i, (t, v) in enumerate(zip(train, val))]


def codes(found):
    return [v["code"] for v in found]


def test_overfitting_names_the_best_epoch():
    history = epochs([1.0, 0.6, 0.4, 0.3, 0.2, 0.1], [0.9, 0.5, 0.55, 0.6, 0.7, 0.8])
    found = V.judge(history, [], mode="min", monitor="mse")
    assert codes(found) == ["overfitting"]
    assert found[0]["best_epoch"] == 1 and found[0]["epoch"] == 4
    assert "epoch 1" in found[0]["message"] and "--patience" in found[0]["message"]
    # the same curves for a metric where higher is better
    flipped = epochs([1.0, 0.6, 0.4, 0.3, 0.2, 0.1], [0.1, 0.5, 0.45, 0.4, 0.3, 0.2])
    assert V.judge(flipped, [], mode="max")[0]["best_epoch"] == 1


@pytest.mark.parametrize("train, val", [
    ([1.0, 0.6, 0.4, 0.3, 0.2, 0.1], [0.9, 0.5, 0.55, 0.6, 0.4, 0.45]),  # it improved again
    ([1.0, 0.6, 0.6, 0.6, 0.6, 0.6], [0.9, 0.5, 0.55, 0.6, 0.7, 0.8]),  # the training loss stopped falling
    ([1.0, 0.6, 0.4, 0.3, 0.2, 0.1], [0.9, 0.5, 0.505, 0.505, 0.505, 0.505]),  # worse by noise only
    ([1.0, 0.6, 0.4, 0.3, 0.2], [0.9, 0.5, 0.55, 0.6, 0.7]),  # only 3 epochs after the best, one was at 2
])
def test_no_overfitting_without_its_signs(train, val):
    history = epochs(train, val)
    if len(train) == 5:  # 3 worse epochs exactly: that is the threshold, so this one does fire
        assert codes(V.judge(history, [])) == ["overfitting"]
        history = history[:-1]
    assert "overfitting" not in codes(V.judge(history, []))


def test_underfitting_is_a_plateau_near_the_baseline():
    history = epochs([0.30, 0.171, 0.170, 0.169, 0.168], [0.2, 0.17, 0.166, 0.166, 0.165])
    found = V.judge(history, [], baseline=0.167, baseline_name="train_mean", monitor="mse")
    assert codes(found) == ["underfitting"] and "train_mean" in found[0]["message"]
    assert V.judge(history, [], baseline=0.5) == []  # far better than the baseline: it learnt
    still_falling = epochs([0.30, 0.25, 0.20, 0.17, 0.15], [0.2, 0.17, 0.166, 0.166, 0.165])
    assert V.judge(still_falling, [], baseline=0.167) == []
    accuracy = epochs([0.69, 0.69, 0.69, 0.69, 0.69], [0.51, 0.5, 0.52, 0.51, 0.5])
    assert codes(V.judge(accuracy, [], mode="max", baseline=0.5)) == ["underfitting"]


def records(update_ratio=1e-3, layers=None, **interval):
    return [{"kind": "record", "step": s, "epoch": s // 10, "update_ratio": update_ratio, "layers": layers or {},
             "interval": interval} for s in (0, 10, 20)]


def test_lr_too_low_is_a_flat_loss_from_tiny_updates():
    history = epochs([0.50, 0.5001, 0.4999], [0.6, 0.6, 0.6])
    found = V.judge(history, records(update_ratio=3e-7), baseline=0.2)
    assert codes(found) == ["lr_too_low"] and "--lr" in found[0]["message"]
    assert V.judge(history, records(update_ratio=1e-3), baseline=0.2) == []  # moving: something else
    # a converged model has a flat loss too, and is far better than the baseline
    assert V.judge(history, records(update_ratio=3e-7), baseline=5.0) == []


def test_lr_too_high_is_a_diverging_or_non_finite_loss():
    rising = epochs([0.5, 0.3, 0.35, 0.8], [0.5, 0.3, 0.35, 0.8])
    assert codes(V.judge(rising, [])) == ["lr_too_high"] and V.judge(rising, [])[0]["epoch"] == 3
    nan = epochs([0.5, None], [0.5, None])
    nan[1]["nonfinite_losses"] = 3
    assert codes(V.judge(nan, [])) == ["lr_too_high"]
    # diverged within the first epoch, then fell: the loss before the first step is the reference
    early = epochs([1053.0, 975.0, 370.0], [1e6, 7e5, 2e4])
    before = [{"kind": "record", "step": 0, "epoch": 0, "loss": 0.5}]
    assert V.judge(early, []) == []
    assert codes(V.judge(early, before)) == ["lr_too_high"] and "before the first step" in V.judge(early, before)[0]["message"]
    # a converged loss bouncing at the bottom is not diverging
    assert V.judge(epochs([0.25, 0.02, 0.0018, 0.003], [0.2, 0.02, 0.002, 0.003]), before) == []
    # steps that move the weights by more than their own norm
    assert codes(V.judge(epochs([0.5, 0.4], [0.5, 0.4]), records(update_ratio=70.0))) == ["lr_too_high"]


def test_exploding_gradients_spike_nan_or_grow_back_in_time():
    history = epochs([0.5, 0.4, 0.3], [0.5, 0.4, 0.3])
    history[2]["grad_norm"] = {"median": 3.0, "max": 500.0}
    assert codes(V.judge(history, [])) == ["exploding_gradients"]
    assert V.judge(history, [], grad_clip=1.0) == []  # clipping is there for spikes
    history[2]["nonfinite_grads"] = 2
    assert codes(V.judge(history, [], grad_clip=1.0)) == ["exploding_gradients"]  # NaN is not clipped away
    assert V.judge(history, [], grad_clip=1.0, scaled=True) == []  # float16's scaler skips those steps
    calm = epochs([0.5, 0.4, 0.3], [0.5, 0.4, 0.3])
    growing = records(layers={"net.backbone.l0": {"steps": 20, "gradient_ratio": 1e4, "gates": {}}})
    found = V.judge(calm, growing)
    assert codes(found) == ["exploding_gradients"] and "net.backbone.l0" in found[0]["message"]
    per_step_losses = records(layers={"net.backbone.l0": {"steps": 20, "gradient_ratio": 15.0, "gates": {}}})
    assert V.judge(calm, per_step_losses) == []


def test_vanishing_gradients_and_gates_at_the_last_record():
    calm = epochs([0.5, 0.4, 0.3], [0.5, 0.4, 0.3])
    layers = {"net.backbone.l0": {"steps": 200, "gradient_ratio": 1e-9, "gates": {"saturated": 0.1, "dead": 0.0}},
              "net.backbone.l1": {"steps": 200, "gradient_ratio": 0.5, "gates": {"saturated": 0.7, "dead": 0.4}}}
    found = V.judge(calm, records(layers=layers))
    assert codes(found) == ["vanishing_gradients", "saturated_gates", "dead_units"]
    assert "net.backbone.l0" in found[0]["message"] and "--cell lstm or gru" in found[0]["message"]
    layers["net.backbone.l0"]["cell"] = "lstm"  # already gated: the advice is fewer steps
    assert "--model segment" in V.judge(calm, records(layers=layers))[0]["message"]
    assert "--cell" not in V.judge(calm, records(layers=layers))[0]["message"]
    assert "net.backbone.l1" in found[1]["message"]
    short = {"net.backbone.l0": {"steps": 5, "gradient_ratio": 1e-9, "gates": {}}}
    assert V.judge(calm, records(layers=short)) == []  # five steps say nothing about memory
    healthy = {"net.backbone.l0": {"steps": 200, "gradient_ratio": 0.02, "gates": {"saturated": 0.2}}}
    assert V.judge(calm, records(layers=healthy)) == []


def test_a_vanishing_gradient_is_no_verdict_where_the_model_beats_the_baseline_anyway():
    """The seed's cosine: its last steps predict it, so an LSTM that forgets the first step is right to."""
    weak = {"net.backbone.l0": {"steps": 500, "gradient_ratio": 6e-31, "cell": "lstm", "gates": {}}}
    learnt = epochs([0.5, 0.1, 0.05], [0.5, 0.1, 0.05])  # best val 0.05 against the baseline's 0.4
    assert V.judge(learnt, records(layers=weak), baseline=0.4) == []
    stuck = epochs([0.5, 0.4, 0.3], [0.45, 0.41, 0.39])  # hardly better than the baseline: the gradient matters
    assert "vanishing_gradients" in codes(V.judge(stuck, records(layers=weak), baseline=0.4))
    accuracy = epochs([0.6, 0.5, 0.4], [0.80, 0.88, 0.90])  # accuracy 0.90 against the majority's 0.5
    assert V.judge(accuracy, records(layers=weak), mode="max", baseline=0.5) == []


def test_the_summary_lines_name_each_verdict():
    lines = V.summary_lines({"file": FILE_NAME, "layers": {"net.backbone.l0": {"gradient_ratio": 2e-7}},
                             "clipping_rate": 0.25, "verdicts": [{"code": "lr_too_low", "epoch": 2, "message": "m"}]})
    assert lines[0] == ("diagnostics: gradient ratio ||dL/dh_1||/||dL/dh_T|| net.backbone.l0 2.00e-07; clipping acted "
                        "on 25% of steps (diagnostics.jsonl)")
    assert lines[1] == "verdict: lr_too_low (epoch 2): m"
    assert V.summary_lines(None) == []


# --- real runs ------------------------------------------------------------------------------------------------

#: the cosine wave's first 700 rows for training (about 10 steps an epoch), 200 each to validate and test
SMALL = {"options.lookback": 24, "options.horizon": 1, "options.model": "sequence", "backbone.hidden": 8,
         "options.split": "700,200,200", "train.batch_size": 64, "options.plot": False, "train.schedule": "none",
         "train.patience": 0, "train.threads": 1}


def train(tmp_path, name, task=None, **settings):
    from suite.config import build_run_config
    from suite.registry import get_task
    from suite.training import quiet_libraries, train_in_process

    quiet_libraries()
    task = task or get_task("forecast")
    cfg = build_run_config(task, explicit={**SMALL, **settings})
    datamodule = task.datamodule(cfg)
    datamodule.setup("fit")
    return train_in_process(task, cfg, datamodule, tmp_path / name)


def test_training_is_the_same_with_and_without_diagnostics(tmp_path):
    """Same seed, diagnostics on every step or off: the same losses and the same final weights, bit for bit
    (with dropout between layers and before the head, so the random streams are exercised)."""
    settings = dict(**{"backbone.cell": "lstm", "backbone.layers": 2, "backbone.dropout": 0.3,
                       "options.head_dropout": 0.2, "train.max_epochs": 2, "train.grad_clip": 0.5})
    on = train(tmp_path, "on", **settings, **{"train.diagnostics_every": 1})
    off = train(tmp_path, "off", **settings, **{"train.diagnostics": False})
    assert on["diagnostics"]["records"] == on["global_steps"]
    assert "diagnostics" not in off and not (tmp_path / "off" / FILE_NAME).exists()
    assert on["metrics"] == off["metrics"]
    weights = [torch.load(tmp_path / run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
               for run in ("on", "off")]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    losses = [[line.split(",")[-1] for line in (tmp_path / run / "metrics.csv").read_text().splitlines()
               if ",train/loss," in line] for run in ("on", "off")]
    assert losses[0] == losses[1] and losses[0]


def test_a_learning_rate_of_1e_7_is_too_low(tmp_path):
    results = train(tmp_path, "low", **{"backbone.cell": "rnn", "train.lr": 1e-7, "train.max_epochs": 3})
    found = results["diagnostics"]["verdicts"]
    assert "lr_too_low" in codes(found), found
    assert results["diagnostics"]["update_ratio_median"] < V.LOW_UPDATE_RATIO


def test_a_large_recurrent_initialisation_without_clipping_explodes(tmp_path):
    from suite.registry import get_task

    task = get_task("forecast")
    build = task.model

    def large_recurrent_init(cfg, datamodule):
        model = build(cfg, datamodule)
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "weight_hh" in name:
                    param.mul_(LARGE_INIT)
        return model

    task.model = large_recurrent_init
    results = train(tmp_path, "large", task=task, **{"backbone.cell": "rnn", "backbone.init": "keras",
                                                    "train.max_epochs": 2, "train.diagnostics_every": 5})
    assert "exploding_gradients" in codes(results["diagnostics"]["verdicts"]), results["diagnostics"]


LARGE_INIT = 3.0


def test_a_run_from_the_command_line_records_and_reports(tmp_path, capsys):
    from suite.cli import main

    run = tmp_path / "run"
    code = main(["--task", "forecast", "--lookback", "24", "--horizon", "1", "--model", "sequence", "--split",
                 "700,200,200", "--cell", "rnn", "--hidden", "8", "--batch-size", "64", "--max-epochs", "2",
                 "--no-plot", "--threads", "1", "--diagnostics-every", "5", "--run-dir", str(run)])
    out = capsys.readouterr().out
    assert code == 0
    assert "diagnostics: gradient ratio ||dL/dh_1||/||dL/dh_T|| net.backbone.l0 " in out
    results = read_results(run)
    summary = results["diagnostics"]
    lines = read_diagnostics(run / FILE_NAME)
    recorded = [line for line in lines if line["kind"] == "record"]
    assert summary["records"] == len(recorded) and summary["every"] == 5
    assert [r["step"] for r in recorded][:2] == [0, 5] and recorded[-1].get("final") is True
    assert recorded[-1]["step"] == results["global_steps"] - 1
    layer = summary["layers"]["net.backbone.l0"]
    assert layer["steps"] == 24 and layer["gradient_ratio"] == recorded[-1]["layers"]["net.backbone.l0"]["gradient_ratio"]
    assert 0 <= layer["gates"]["saturated"] <= 1
    assert [line["epoch"] for line in lines if line["kind"] == "epoch"] == [0, 1]
    assert lines[-1]["kind"] == "verdicts" and lines[-1]["verdicts"] == summary["verdicts"]
    assert set(recorded[1]["groups"]) == {"net.backbone.l0", "net.head"}
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert sum(e["event"] == "diagnostics" for e in events) == len(recorded)


def test_the_diagnostics_settings_are_checked(capsys):
    from helpers import one_line_error

    message = one_line_error(capsys, "--task", "forecast", "--diagnostics-every", "0")
    assert message == "train.diagnostics_every (--diagnostics-every): must be at least 1, got 0"


def test_a_resumed_run_keeps_the_history_up_to_its_checkpoint(tmp_path):
    """Lines after the resumed checkpoint's step (the crashed run's last moments) are dropped, as is the
    line a killed process cut short; the rest carries on into the verdicts."""
    from suite.insight.diagnostics import TrainingDiagnostics

    lines = [{"kind": "start", "step": 0, "epoch": 0}, {"kind": "record", "step": 0, "epoch": 0},
             {"kind": "epoch", "epoch": 0, "step": 5, "train_loss": 0.5, "val": 0.4},
             {"kind": "record", "step": 5, "epoch": 1}, {"kind": "epoch", "epoch": 1, "step": 10, "train_loss": 0.4},
             {"kind": "record", "step": 10, "epoch": 2}]
    path = tmp_path / FILE_NAME
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"kind": "rec')
    callback = TrainingDiagnostics(5, tmp_path)
    callback._restore(step=5)
    assert [r["step"] for r in callback.records] == [0, 5]
    assert [e["epoch"] for e in callback.epochs] == [0]
    assert read_diagnostics(path) == lines[:4]


def test_a_damaged_diagnostics_file_is_one_line(tmp_path):
    from suite.errors import UserError

    path = tmp_path / FILE_NAME
    path.write_bytes(b'{"kind": "start"}\n\xff\xfe\x00\n')
    with pytest.raises(UserError, match=r"diagnostics.jsonl, line 2: not a text file"):
        read_diagnostics(path)
    path.write_text('{"kind": "start"}\n[1, 2]\n')
    with pytest.raises(UserError, match=r"line 2: expected a JSON object with a 'kind', not a list"):
        read_diagnostics(path)


def test_a_diverging_run_leaves_its_verdicts_and_one_error_line(tmp_path, capsys):
    from helpers import one_line_error

    run = tmp_path / "run"
    message = one_line_error(capsys, "--task", "forecast", "--max-epochs", "1", "--hidden", "4", "--split", "800,600,0",
                             "--threads", "1", "--optimizer", "sgd", "--lr", "1e20", "--log-every", "1",
                             "--run-dir", str(run))
    assert message.startswith("training diverged")
    last = read_diagnostics(run / FILE_NAME)[-1]
    assert last["kind"] == "verdicts"
    assert {"lr_too_high", "exploding_gradients"} <= set(codes(last["verdicts"])), last["verdicts"]
