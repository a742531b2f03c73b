"""Per-sample input gradients of one unit of a PyTorch model.

``UnitGradients`` resolves (model, layer, capture, unit) once - the layer by
its dotted name, a trailing ``nn.Sigmoid``/``nn.Softmax`` to bypass when no
layer is named - holds the forward hook, and computes for a batch of inputs
the unit's values and input gradients in eval mode, leaving the model's
state as it was. Gradients of the batch sum equal per-sample gradients
because samples do not interact in eval mode.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from ._state import preserved_state
from ._units import UnitSelector, resolve_unit

#: Modules whose output is a squashed logit; bypassed when interpreting the model output.
SQUASHES: tuple[type[nn.Module], ...] = (nn.Sigmoid, nn.Softmax, nn.LogSoftmax)
#: Piecewise-linear activations: their networks have piecewise-constant gradients.
PIECEWISE_LINEAR: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.Hardtanh,
)
CAPTURES = ("output", "input")


def find_layer(model: nn.Module, layer: str) -> nn.Module:
    """The submodule called ``layer`` in ``model.named_modules()``, or a ValueError listing
    the valid names."""
    modules = dict(model.named_modules())
    modules.pop("", None)
    if not isinstance(layer, str) or layer not in modules:
        valid = ", ".join(repr(n) for n in modules) or "(the model has no submodules)"
        raise ValueError(
            f"layer={layer!r} is not a module of this {type(model).__name__}; valid layer names "
            f"(from model.named_modules()) are: {valid}. Use layer=None for the model output."
        )
    return modules[layer]


def piecewise_linear_modules(model: nn.Module) -> list[str]:
    """Names of the ReLU-like modules of ``model`` (empty for smooth networks)."""
    return [name or type(model).__name__ for name, m in model.named_modules()
            if isinstance(m, PIECEWISE_LINEAR)]


def warn_if_piecewise_linear(model: nn.Module, stacklevel: int = 3) -> list[str]:
    names = piecewise_linear_modules(model)
    if names:
        warnings.warn(
            f"the model has piecewise-linear activations ({', '.join(names[:5])}"
            f"{', ...' if len(names) > 5 else ''}): its input gradients are piecewise constant, so "
            "the gradient directions jump between linear regions and formulas fit them poorly. "
            "Train with a smooth activation such as nn.ELU (or SiLU/GELU) for interpretation.",
            UserWarning,
            stacklevel=stacklevel,
        )
    return names


def first_linear(model: nn.Module) -> tuple[str, nn.Linear] | None:
    """The first leaf of a (nested) ``nn.Sequential`` when it is an ``nn.Linear``."""
    name, m = "", model
    while isinstance(m, nn.Sequential) and len(m) > 0:
        first = next(iter(m.named_children()))
        name, m = (f"{name}.{first[0]}" if name else first[0]), first[1]
    if isinstance(m, nn.Linear):
        return name, m
    return None


def model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    for p in model.parameters():
        if p.is_floating_point():
            return p.device, p.dtype
    for b in model.buffers():
        if b.is_floating_point():
            return b.device, b.dtype
    return torch.device("cpu"), torch.get_default_dtype()


class UnitGradients:
    """The unit of ``model`` named by (layer, capture, unit), ready to give gradients.

    >>> import torch, numpy as np
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Sigmoid())
    >>> with UnitGradients(net) as ug:
    ...     G, V = ug.compute(np.zeros((4, 2)))
    >>> G.shape, ug.bypassed
    ((4, 2), '1')
    """

    def __init__(
        self, model: nn.Module, layer: str | None = None, unit: Any = 0, capture: str = "output",
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if capture not in CAPTURES:
            raise ValueError(f"capture must be 'output' or 'input', got {capture!r}")
        if layer is None and capture == "input":
            raise ValueError(
                "capture='input' needs a layer: with layer=None the model output is used, and the "
                "model's own input is X itself"
            )
        self.model = model
        self.layer = layer
        self.capture = capture
        self.selector: UnitSelector = resolve_unit(unit)
        self.module = None if layer is None else find_layer(model, layer)
        self.bypassed: str | None = None  # name of the squash module whose input is used
        self._names = {m: n for n, m in model.named_modules()}
        self._records: list[tuple[nn.Module, Any, Any]] = []
        self._handles: list[Any] = []
        self._active = False
        self.attached = False

    # -- hooks -------------------------------------------------------------------
    def attach(self) -> UnitGradients:
        """Register the forward hooks (idempotent). They record only while computing."""
        if self.attached:
            return self
        self.attached = True
        targets = ([self.module] if self.module is not None
                   else [m for m in self.model.modules() if isinstance(m, SQUASHES)])
        for m in targets:
            self._handles.append(m.register_forward_hook(self._hook))
        return self

    def remove(self) -> None:
        """Remove every hook this object registered."""
        while self._handles:
            self._handles.pop().remove()
        self._records.clear()
        self.attached = False

    def __enter__(self) -> UnitGradients:
        return self.attach()

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    def _hook(self, module: nn.Module, args: tuple, output: Any) -> None:
        if self._active:
            self._records.append((module, args, output))

    # -- describing ----------------------------------------------------------------
    @property
    def is_logit(self) -> bool:
        """True when the unit is a classifier logit: the model output, or a class boundary."""
        return self.layer is None or self.selector.is_class_boundary

    def describe(self) -> str:
        unit = self.selector.describe()
        if self.layer is not None:
            kind = type(self.module).__name__
            return f"{unit} of the {self.capture} of layer {self.layer!r} ({kind})"
        if self.bypassed is not None:
            squash = type(self._module_named(self.bypassed)).__name__
            return (f"{unit} of the model's logits (the input of the final {squash} "
                    f"{self.bypassed!r})")
        return f"{unit} of the model output"

    def bypass_note(self) -> str | None:
        """A sentence for the result's notes when a final squash was bypassed."""
        if self.bypassed is None:
            return None
        squash = type(self._module_named(self.bypassed)).__name__
        return (f"The model ends in {squash} {self.bypassed!r}, which was bypassed: the formula "
                "explains its input, the logit.")

    def _module_named(self, name: str) -> nn.Module:
        return dict(self.model.named_modules())[name]

    # -- computing -------------------------------------------------------------------
    def check_width(self, d: int, shape: tuple[int, ...]) -> None:
        found = first_linear(self.model)
        if found is not None and found[1].in_features != d:
            name, lin = found
            raise ValueError(
                f"X has shape {shape}, i.e. {d} features per sample, but the model's first layer "
                f"{name!r} (Linear) expects in_features={lin.in_features}; pass X with "
                f"{lin.in_features} columns"
            )

    def compute(self, X: np.ndarray, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """Input gradients (n, d) and values (n,) of the unit at the rows of ``X``.

        Runs in eval mode with gradients enabled (also inside ``torch.no_grad()`` or
        ``torch.inference_mode()``); the model's flags and ``.grad`` are restored.
        """
        X = np.asarray(X)
        self.check_width(X.shape[1], X.shape)
        attached_here = not self.attached
        device, dtype = model_device_dtype(self.model)
        grads, values = [], []
        try:
            self.attach()
            with preserved_state(self.model), torch.inference_mode(False), torch.enable_grad():
                self.model.eval()
                for start in range(0, X.shape[0], batch_size):
                    xb = torch.tensor(X[start:start + batch_size], dtype=dtype, device=device)
                    g, v = self._batch(xb.requires_grad_(True), X.shape)
                    grads.append(g)
                    values.append(v)
        finally:
            self._active = False
            self._records.clear()
            if attached_here:
                self.remove()
        return np.concatenate(grads), np.concatenate(values)

    def _batch(self, xb: torch.Tensor, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        self._records.clear()
        self._active = True
        try:
            out = self.model(xb)
        except RuntimeError as err:
            raise ValueError(
                f"the model failed on X of shape {shape} (a batch of shape {tuple(xb.shape)}): "
                f"{err}. Check that X has the columns the model expects."
            ) from err
        finally:
            self._active = False
        captured = self._captured(out)
        s = self.selector.select(captured)
        if s.shape != (xb.shape[0],):
            raise ValueError(
                f"{self.selector.describe()} gave shape {tuple(s.shape)} for a batch of "
                f"{xb.shape[0]} samples; it must give one scalar per sample"
            )
        if not s.requires_grad:
            raise ValueError(
                f"{self.describe()} does not depend on the input X (no gradient flows to it)"
            )
        (g,) = torch.autograd.grad(s.sum(), xb, allow_unused=True)
        if g is None:
            g = torch.zeros_like(xb)
        return (g.detach().to("cpu", torch.float64).numpy(),
                s.detach().to("cpu", torch.float64).numpy())

    def _captured(self, out: Any) -> Any:
        if self.module is not None:
            if not self._records:
                raise ValueError(
                    f"layer {self.layer!r} was not called during the model's forward pass, so it "
                    "has no value for these inputs; pick a layer on the path from input to output"
                )
            if len(self._records) > 1:
                raise ValueError(
                    f"layer {self.layer!r} was called {len(self._records)} times in one forward "
                    "pass (a shared module), so its unit is ambiguous; name a module used once"
                )
            _, args, output = self._records[0]
            if self.capture == "input":
                if not args:
                    raise ValueError(f"layer {self.layer!r} was called without positional input")
                return args[0]
            return output
        # No layer: the model output, or the input of a squash that produced it.
        for module, args, output in self._records:
            if _same_tensor(out, output) and args and isinstance(args[0], torch.Tensor):
                self.bypassed = self._names.get(module, type(module).__name__)
                return args[0].reshape(out.shape) if out.shape != output.shape else args[0]
        return out


def _same_tensor(out: Any, squashed: Any) -> bool:
    """``out`` is the squash's output itself, or a contiguous view of all of it."""
    if not isinstance(out, torch.Tensor) or not isinstance(squashed, torch.Tensor):
        return False
    if out is squashed:
        return True
    return (out.numel() == squashed.numel() and out.data_ptr() == squashed.data_ptr()
            and out.is_contiguous() and squashed.is_contiguous())
