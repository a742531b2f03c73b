"""SearchOptions: unknown names are rejected with the valid list, bad values with
the argument's name, and operators resolve by name or alias."""

from __future__ import annotations

import pytest

from neuroninterp import SearchOptions
from neuroninterp._ops import DEFAULT_OPERATORS, OPERATORS


def test_defaults():
    options = SearchOptions.from_kwargs({})
    assert tuple(options.operators) == DEFAULT_OPERATORS
    assert [op.name for op in options.resolved] == list(DEFAULT_OPERATORS)
    assert options.time_budget == 60.0 and options.max_size == 30 and options.seed == 0


def test_unknown_names_are_rejected_with_the_valid_list():
    with pytest.raises(TypeError, match=r"unknown search option\(s\) \['budget'\]") as err:
        SearchOptions.from_kwargs({"budget": 10})
    for name in SearchOptions.names():
        assert repr(name) in str(err.value)
    with pytest.raises(TypeError, match=r"\['maxsize', 'njobs'\]"):
        SearchOptions.from_kwargs({"njobs": 1, "maxsize": 20, "seed": 1})


def test_names_are_the_documented_ones():
    assert SearchOptions.names() == [
        "operators", "operator_complexity", "constraints", "nested_constraints", "max_size",
        "time_budget", "max_evals", "early_stop", "seed", "n_jobs", "batch_size", "progress", "populations",
        "population_size", "decompose",
    ]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"max_size": 2}, ValueError, r"max_size must be an integer >= 3, got 2"),
        ({"max_size": 10.5}, ValueError, r"max_size must be an integer >= 3, got 10.5"),
        ({"max_size": "30"}, ValueError, r"max_size must be an integer >= 3, got '30'"),
        ({"max_size": True}, ValueError, r"max_size must be an integer"),
        ({"batch_size": 1}, ValueError, r"batch_size must be an integer >= 2"),
        ({"populations": 0}, ValueError, r"populations must be an integer >= 1"),
        ({"population_size": 3}, ValueError, r"population_size must be an integer >= 4"),
        ({"time_budget": 0}, ValueError, r"time_budget must be a positive number.*got 0"),
        ({"time_budget": -5.0}, ValueError, r"time_budget must be a positive number"),
        ({"time_budget": None}, ValueError, r"give time_budget or max_evals"),
        ({"max_evals": 0}, ValueError, r"max_evals must be an integer >= 1"),
        ({"early_stop": -1e-3}, ValueError, r"early_stop must be >= 0 or None"),
        ({"n_jobs": 0}, ValueError, r"n_jobs must be an integer >= 1, got 0"),
        ({"seed": 1.5}, TypeError, r"seed must be an int or None, got 1.5"),
        ({"operators": ["+", "digamma"]}, ValueError, r"operators: unknown operator 'digamma'"),
        ({"operators": "+-*/"}, TypeError, r"operators must be a list of names"),
        ({"operators": []}, ValueError, r"operators: give at least one operator"),
        ({"operator_complexity": {"digamma": 2}}, ValueError, r"operator_complexity: unknown operator"),
        ({"operator_complexity": {"exp": 0}}, ValueError,
         r"operator_complexity\['exp'\] must be >= 1"),
        ({"constraints": {"digamma": 1}}, ValueError, r"constraints: unknown operator 'digamma'"),
        ({"constraints": {"pow": 1}}, ValueError, r"constraints\['pow'\] must be a pair of ints"),
        ({"constraints": {"sin": (1, 2)}}, ValueError, r"constraints\['sin'\] must be an int"),
        ({"constraints": {"pow": (-2, 1)}}, ValueError, r"-1 for any\), got \(-2, 1\)"),
        ({"nested_constraints": {"sin": 0}}, ValueError,
         r"nested_constraints\['sin'\] must be a dict of operator names to ints"),
        ({"nested_constraints": {"sin": {"digamma": 0}}}, ValueError,
         r"nested_constraints: unknown operator 'digamma'"),
        ({"nested_constraints": {"sine": {"cos": 0}}}, ValueError, r"unknown operator 'sine'"),
        ({"nested_constraints": {"sin": {"cos": -1}}}, ValueError,
         r"nested_constraints\['sin'\]\['cos'\] must be an int >= 0 .*got -1"),
    ],
)
def test_bad_values_are_rejected_by_name(kwargs, error, message):
    with pytest.raises(error, match=message):
        SearchOptions.from_kwargs(kwargs)


def test_unknown_operator_lists_the_valid_ones():
    with pytest.raises(ValueError) as err:
        SearchOptions(operators=["+", "digamma"])
    for name in OPERATORS:
        assert repr(name) in str(err.value)


def test_operator_aliases_and_complexity():
    options = SearchOptions(operators=["add", "^", "Times", " sin ", "+"],
                            operator_complexity={"exp": 3, "**": 2, "sin": 2})
    assert [op.name for op in options.resolved] == ["+", "pow", "*", "sin"]
    weights = {op.name: op.complexity for op in options.resolved}
    assert weights == {"+": 1, "pow": 2, "*": 1, "sin": 2}


def test_pysr_operators_with_a_zero_gradient_are_left_out_with_a_warning():
    with pytest.warns(UserWarning, match=r"leaving out floor, sign: the gradient of each is zero"):
        options = SearchOptions(operators=["+", "floor", "*", "sign", "logistic", "log10"])
    assert [op.name for op in options.resolved] == ["+", "*", "sigmoid", "log10"]
    assert options.operators == ("+", "*", "logistic", "log10")  # what workers get: no warning there
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="give at least one operator"):
        SearchOptions(operators=["round"])


def test_pysr_binary_and_unary_operator_lists():
    options = SearchOptions.from_kwargs({"binary_operators": ["+", "*", "max"],
                                         "unary_operators": ["cos", "log10"], "max_size": 12})
    assert [op.name for op in options.resolved] == ["+", "*", "max", "cos", "log10"]
    only_unary = SearchOptions.from_kwargs({"unary_operators": ["exp"]})
    assert [op.name for op in only_unary.resolved] == ["+", "-", "*", "/", "exp"]  # PySR's default
    with pytest.raises(ValueError, match=r"unary_operators: '\*' takes 2 operand\(s\); give it in binary"):
        SearchOptions.from_kwargs({"unary_operators": ["*"]})
    with pytest.raises(TypeError, match="not both"):
        SearchOptions.from_kwargs({"operators": ["+"], "unary_operators": ["cos"]})
    with pytest.raises(TypeError, match="binary_operators must be a list of names"):
        SearchOptions.from_kwargs({"binary_operators": "+*"})


def test_no_time_limit_with_an_evaluation_budget():
    options = SearchOptions(time_budget=None, max_evals=1000, n_jobs=2, early_stop=None)
    assert options.workers == 2 and options.max_evals == 1000


def test_as_dict_round_trip():
    options = SearchOptions(operators=["+", "*", "cos"], max_size=12, time_budget=5.0, seed=3,
                            operator_complexity={"cos": 2}, constraints={"^": [-1, 1], "cos": 4})
    data = options.as_dict()
    assert data["operators"] == ["+", "*", "cos"] and "resolved" not in data and "limits" not in data
    assert options.limits == {OPERATORS["pow"].opcode: (-1, 1), OPERATORS["cos"].opcode: (4,)}
    again = SearchOptions.from_kwargs(data)
    assert again == options
    assert [op.complexity for op in again.resolved] == [1, 1, 2]


def test_numpy_integers_are_accepted_as_plain_ints():
    import numpy as np

    options = SearchOptions(seed=np.int64(3), max_size=np.int32(12), n_jobs=np.int64(1))
    assert options.seed == 3 and type(options.seed) is int
    assert type(options.max_size) is int and type(options.n_jobs) is int
    assert SearchOptions.from_kwargs(options.as_dict()) == options
