"""Which tensor of a Keras model is captured, as a function of the model input.

``resolve_target`` turns ``layer=`` (a name, a ``"outer/inner"`` path, or a
name found inside a nested model) and ``capture=`` into a ``Target``: a
function from an input batch to the captured tensor, built from functional
sub-models (Functional) or layer-by-layer calls (Sequential) that share the
model's weights. With no layer, the target is the model's logits: a final
sigmoid/softmax is bypassed by taking the input of a trailing
``Activation``/``Softmax`` layer, or by redoing a final ``Dense``'s matmul
without its activation. The model itself is never changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras

SQUASHES = ("sigmoid", "softmax", "log_softmax")


@dataclass
class Target:
    """The captured tensor: ``fn(x)`` maps an input batch to it.

    ``shape``: its per-sample shape (no batch dim) when known before running;
    ``where``: words for reports ("the output of layer 'inner/d1' (Dense)");
    ``squash``: the final activation that was bypassed, if any;
    ``logit``: ``"binary"`` when entries are sigmoid logits, ``"softmax"`` when
    they are the class logits of a softmax head, else None (no band filter).
    """

    fn: Callable[[Any], Any]
    shape: tuple[int | None, ...] | None
    where: str
    squash: str | None = None
    logit: str | None = None


# -- the model's graph ---------------------------------------------------------------
def has_graph(model: Any) -> bool:
    """True for Sequential and Functional models, whose layers can be addressed by name."""
    if isinstance(model, keras.Sequential):
        return True
    return isinstance(model, keras.Model) and bool(getattr(model, "inputs", None)) and bool(
        getattr(model, "outputs", None))


def input_shape(model: Any) -> tuple[int | None, ...] | None:
    """The per-sample input shape of a graph model when it is known, else None."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    if not inputs:
        return None
    if len(inputs) != 1:
        raise ValueError(
            f"model {model.name!r} has {len(inputs)} inputs; neuroninterp_keras interprets "
            "models with one input (a feature vector per sample). Pass unit_fn=lambda model, x: "
            "... to compute the unit from a single input tensor yourself."
        )
    return tuple(inputs[0].shape[1:])


def layer_paths(model: Any, prefix: str = "") -> list[tuple[str, list[tuple[Any, Any]]]]:
    """Every addressable layer as ``(path, chain)``; ``chain`` lists ``(parent, layer)``
    pairs from the top model down. Nested graph models are entered; input layers skipped."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        path = prefix + layer.name
        out.append((path, [(model, layer)]))
        if isinstance(layer, keras.Model) and has_graph(layer):
            for sub_path, chain in layer_paths(layer, path + "/"):
                out.append((sub_path, [(model, layer), *chain]))
    return out


def find_layer(model: Any, name: str) -> tuple[str, list[tuple[Any, Any]]]:
    """The layer called ``name``: a direct layer, an ``"outer/inner"`` path, or a name that
    occurs exactly once inside nested models. Errors list the valid names."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"layer must be a layer name or an 'outer/inner' path, got {name!r}")
    if not has_graph(model):
        raise ValueError(
            f"layer={name!r} needs a Functional or Sequential model, but {type(model).__name__} "
            f"{model.name!r} is a subclassed model without a layer graph. Pass "
            "unit_fn=lambda model, x: ... returning one scalar per sample instead, e.g. "
            "unit_fn=lambda model, x: model.hidden(x)[:, 0]"
        )
    paths = layer_paths(model)
    exact = [(p, c) for p, c in paths if p == name]
    if exact:
        return exact[0]
    nested = [(p, c) for p, c in paths if "/" not in name and p.rsplit("/", 1)[-1] == name]
    if len(nested) == 1:
        return nested[0]
    if len(nested) > 1:
        raise ValueError(
            f"layer={name!r} is ambiguous in model {model.name!r}: it matches "
            f"{[p for p, _ in nested]}; give the full path"
        )
    raise ValueError(
        f"model {model.name!r} has no layer {name!r}; valid layers are {[p for p, _ in paths]} "
        "(nested layers as 'outer/inner' paths)"
    )


def _graph_nodes(model: Any) -> dict[int, list[Any]]:
    """The call nodes of each operation in a Functional model's graph, by ``id(operation)``,
    found by walking back from the outputs."""
    found: dict[int, list[Any]] = {}
    seen: set[tuple[int, int]] = set()
    stack = list(model.outputs)
    while stack:
        tensor = stack.pop()
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            continue
        operation, node_index = history[0], history[1]
        key = (id(operation), int(node_index))
        if key in seen:
            continue
        seen.add(key)
        node = operation._inbound_nodes[node_index]
        found.setdefault(id(operation), []).append(node)
        stack.extend(node.input_tensors)
    return found


def _graph_tensor(model: Any, layer: Any, capture: str, path: str) -> Any:
    nodes = _graph_nodes(model).get(id(layer), [])
    if not nodes:
        raise ValueError(
            f"layer {path!r} is not on the path from model {model.name!r}'s inputs to its outputs"
        )
    if len(nodes) > 1:
        raise ValueError(
            f"layer {path!r} is called {len(nodes)} times in model {model.name!r} (a shared "
            "layer), so its input and output are ambiguous; pass unit_fn=lambda model, x: ... "
            "instead"
        )
    tensors = nodes[0].input_tensors if capture == "input" else nodes[0].outputs
    if len(tensors) != 1:
        raise ValueError(
            f"the {capture} of layer {path!r} is {len(tensors)} tensors; capture one tensor: "
            f"use capture={'output' if capture == 'input' else 'input'!r}, another layer, or "
            "unit_fn"
        )
    return tensors[0]


def segment(model: Any, layer: Any, capture: str, path: str):
    """``(fn, shape)``: ``fn`` maps ``model``'s input batch to the input or output of its
    direct ``layer``; ``shape`` is that tensor's per-sample shape (None when unknown)."""
    if isinstance(model, keras.Sequential):
        layers = list(model.layers)
        index = next(i for i, lay in enumerate(layers) if lay is layer)
        stop = index if capture == "input" else index + 1
        chosen = layers[:stop]

        def run(x: Any) -> Any:
            for lay in chosen:
                x = lay(x, training=False)
            return x

        try:
            shape: tuple | None = tuple((layer.input if capture == "input" else layer.output)
                                        .shape[1:])
        except (AttributeError, ValueError):
            shape = None
        return run, shape
    input_shape(model)  # one input only
    tensor = _graph_tensor(model, layer, capture, path)
    shape = tuple(tensor.shape[1:])
    if tensor is model.inputs[0]:
        return (lambda x: x), shape
    sub = keras.Model(model.inputs[0], tensor, name="neuroninterp_probe")
    return (lambda x: sub(x, training=False)), shape


def _compose(first: Callable, second: Callable) -> Callable:
    return lambda x: second(first(x))


# -- targets ------------------------------------------------------------------------
def resolve_target(model: Any, layer: str | None, capture: str) -> Target:
    """The ``Target`` for ``layer=``/``capture=`` (see the module docstring)."""
    if layer is None:
        return output_target(model)
    path, chain = find_layer(model, layer)
    fn: Callable = lambda x: x  # noqa: E731
    parts = path.split("/")
    for depth, (parent, child) in enumerate(chain[:-1]):
        if not has_graph(child):
            raise ValueError(
                f"{'/'.join(parts[:depth + 1])!r} is a subclassed model without a layer graph; "
                "its layers cannot be captured by path. Use unit_fn instead."
            )
        step, _ = segment(parent, child, "input", "/".join(parts[:depth + 1]))
        fn = _compose(fn, step)
    parent, leaf = chain[-1]
    step, shape = segment(parent, leaf, capture, path)
    where = f"the {capture} of layer {path!r} ({type(leaf).__name__})"
    return Target(_compose(fn, step), shape, where)


def output_target(model: Any) -> Target:
    """The model's logits: its single output with a final sigmoid/softmax bypassed."""
    if not has_graph(model):
        return Target(
            lambda x: model(x, training=False), None,
            f"the output of model {model.name!r} (subclassed, so a final activation cannot be "
            "bypassed; pass unit_fn to pick the logit)",
        )
    fn: Callable = lambda x: x  # noqa: E731
    path: list[str] = []
    current = model
    while True:
        final = _final_layer(current)
        if isinstance(final, keras.Model) and has_graph(final):
            step, _ = segment(current, final, "input", "/".join([*path, final.name]))
            fn = _compose(fn, step)
            path.append(final.name)
            current = final
            continue
        break
    name = "/".join([*path, final.name])
    kind = type(final).__name__
    squash = squash_of(final)
    if squash is None:
        step, shape = segment(current, final, "output", name)
        logit = _logit_kind_from_loss(model)
        words = "logits" if logit else "output"
        where = f"the {words} of model {model.name!r} (output of layer {name!r} ({kind}))"
        return Target(_compose(fn, step), shape, where, None, logit)
    logit = "binary" if squash == "sigmoid" else "softmax"
    where = (f"the logits of model {model.name!r} (the final {squash} of layer {name!r} "
             f"({kind}) bypassed)")
    if isinstance(final, (keras.layers.Activation, keras.layers.Softmax)):
        step, shape = segment(current, final, "input", name)
        return Target(_compose(fn, step), shape, where, squash, logit)
    if isinstance(final, keras.layers.Dense):
        step, in_shape = segment(current, final, "input", name)
        shape = None if in_shape is None else (*in_shape[:-1], final.units)
        return Target(_compose(fn, _dense_logits(step, final)), shape, where, squash, logit)
    raise ValueError(
        f"the model's output layer {name!r} ({kind}) applies {squash} inside the layer, which "
        "neuroninterp_keras can only bypass for Dense layers or separate Activation/Softmax "
        f"layers. Pass layer={name!r} to interpret the {squash} output itself (same gradient "
        "direction, no band filter), or unit_fn=lambda model, x: ... returning the logit."
    )


def _dense_logits(to_input: Callable, dense: Any) -> Callable:
    """A final Dense without its activation: ``input @ kernel + bias``, reading the layer's
    own variables (so the values follow training, and nothing is copied or changed)."""
    ops = keras.ops

    def logits(x: Any) -> Any:
        z = ops.matmul(to_input(x), dense.kernel)
        return z if dense.bias is None else ops.add(z, dense.bias)

    return logits


def squash_of(layer: Any) -> str | None:
    """The name of a squashing final activation of ``layer`` (sigmoid/softmax), else None."""
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    name = getattr(getattr(layer, "activation", None), "__name__", None)
    return name if name in SQUASHES else None


def _final_layer(model: Any) -> Any:
    if isinstance(model, keras.Sequential):
        if not model.layers:
            raise ValueError(f"model {model.name!r} has no layers")
        return model.layers[-1]
    outputs = model.outputs
    if len(outputs) != 1:
        raise ValueError(
            f"model {model.name!r} has {len(outputs)} outputs; with no layer= the unit must come "
            "from a single output. Pass layer='<output layer name>' and unit=..., or unit_fn."
        )
    return outputs[0]._keras_history[0]


def _logit_kind_from_loss(model: Any) -> str | None:
    """'binary'/'softmax' when the model was compiled with a cross-entropy on logits."""
    loss = getattr(model, "loss", None)
    get_config = getattr(loss, "get_config", None)
    if get_config is None:
        return None
    try:
        from_logits = bool(get_config().get("from_logits", False))
    except Exception:  # noqa: BLE001 - a custom loss with an unusual config
        return None
    if not from_logits:
        return None
    name = type(loss).__name__
    if name.startswith("Binary"):
        return "binary"
    if "Categorical" in name:
        return "softmax"
    return None
