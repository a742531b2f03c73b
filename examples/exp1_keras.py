"""Experiment 1 of Wetzel's paper with Keras: x1^2 + 2 x2^2 = 1 on [-1, 1)^2.

The Keras way: ``neuroninterp_keras.InterpretCallback`` rides along in ``model.fit`` and
explains the model's logit when training ends (after EarlyStopping has restored the best
weights, because it comes later in the callback list). The model's final layer is
linear, trained with ``from_logits=True``; a final sigmoid would be bypassed anyway.
Runs on any Keras 3 backend (``KERAS_BACKEND``; torch when unset).

    python examples/exp1_keras.py            # about two minutes
    python examples/exp1_keras.py --quick    # seconds
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
from _common import (  # noqa: E402
    EXPERIMENTS,
    experiment_data,
    one_thread,
    parse_args,
    search_options,
    show,
    split,
)

from neuroninterp_keras import InterpretCallback  # noqa: E402

EXPERIMENT = 1


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    if keras.backend.backend() == "torch":
        one_thread()
    keras.utils.set_random_seed(args.seed)
    X, y = experiment_data(EXPERIMENT, args.points, args.seed)
    train, val = split(len(X), args.seed)  # 80/20

    l2 = keras.regularizers.L2(5e-5)  # ~ weight decay 1e-4, as in the torch examples
    model = keras.Sequential([
        keras.Input((X.shape[1],)),
        keras.layers.Dense(128, activation="elu", kernel_regularizer=l2),
        keras.layers.Dense(128, activation="elu", kernel_regularizer=l2),
        keras.layers.Dense(1, name="logit"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
    interpret = InterpretCallback(X[train], **search_options(args))
    model.fit(
        X[train], y[train], validation_data=(X[val], y[val]), batch_size=256,
        epochs=args.epochs, verbose=0,
        callbacks=[
            keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=3),
            keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True),
            interpret,  # last: sees the restored best weights
        ],
    )
    _, accuracy = model.evaluate(X[val], y[val], verbose=0)
    print(f"validation accuracy {accuracy:.4f}")
    if interpret.result is None:
        raise SystemExit(f"the interpretation failed: {interpret.error!r}")
    show(interpret.result, EXPERIMENTS[EXPERIMENT].truth, args)


if __name__ == "__main__":
    main()
