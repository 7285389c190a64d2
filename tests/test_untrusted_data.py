"""Does the grader refuse hostile plain data instead of trusting it?"""

from __future__ import annotations

import copy
import math

import pytest

from autograder import capture_riddle, judge
from autograder.core.network import DescriptionError, from_json
from autograder.core.riddles import RIDDLES
from autograder.render.figures import figure
from solutions import reference as R


def _captured(fn, rid: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return capture_riddle(RIDDLES[rid], fn)


def test_a_genuine_capture_round_trips_and_passes() -> None:
    data = _captured(R.lt10_relu, "lt10_relu")
    assert judge(RIDDLES["lt10_relu"], data).status == "pass"


@pytest.mark.parametrize("mutate", [
    lambda net: net["ops"][1].__setitem__("weight", [[math.nan], [1.0]]),
    lambda net: net["ops"][1].__setitem__("bias", [math.inf, 0.0]),
    lambda net: net["ops"][2].__setitem__("args", [5]),
    lambda net: net["ops"][2].__setitem__("op", "exec"),
    lambda net: net["ops"][1].__setitem__("shape", [10**9]),
    lambda net: net.__setitem__("ops", []),
    lambda net: net["ops"][1].__setitem__("weight", "rm -rf /"),
    lambda net: net.__setitem__("arity", "1"),
])
def test_malformed_descriptions_are_refused_with_a_reason(mutate) -> None:  # type: ignore[no-untyped-def]
    data = _captured(R.lt10_relu, "lt10_relu")
    bad = copy.deepcopy(data)
    mutate(bad["instances"][0]["network"])
    r = judge(RIDDLES["lt10_relu"], bad)
    assert r.status == "fail" and r.score == 0
    assert "invalid network description" in r.message


def test_outputs_that_the_description_does_not_reproduce_are_refused() -> None:
    data = _captured(R.min_network, "min_network")
    data["instances"][0]["outputs"][7] += 1.0
    r = judge(RIDDLES["min_network"], data)
    assert r.status == "fail" and "do not reproduce" in r.message


@pytest.mark.parametrize("junk", [None, 42, "captured", {"status": "captured", "instances": "x"},
                                  {"status": "captured", "instances": [{"n": None, "network": 3, "outputs": []}]}])
def test_junk_instead_of_a_capture_scores_zero(junk) -> None:  # type: ignore[no-untyped-def]
    r = judge(RIDDLES["is_even_16"], junk)
    assert r.score == 0 and r.status in ("missing", "error", "fail")


def test_a_description_cannot_claim_fewer_neurons_than_it_has() -> None:
    data = _captured(R.is_even_16, "is_even_16")
    net = from_json(data["instances"][0]["network"])
    assert net.neurons() == 8  # counted from the ops, not from anything the sender says


def test_gather_out_of_range_is_rejected() -> None:
    net = {"arity": 1, "ops": [{"op": "input", "args": [], "shape": [1]},
                               {"op": "gather", "args": [0], "shape": [1], "index": [3]}]}
    with pytest.raises(DescriptionError, match="out of range"):
        from_json(net)


@pytest.mark.parametrize(("rid", "fn"), list(R.answers().items()))
def test_every_riddle_draws_a_figure(rid, fn) -> None:  # type: ignore[no-untyped-def]
    from autograder import check_function

    fig = figure(check_function(fn, rid))
    assert fig is not None and fig.axes
    import matplotlib.pyplot as plt

    plt.close(fig)
