"""Messages a student can act on, the same in every front end (they all render one result)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import torch
from torch import nn

from autograder import check
from autograder.core.checker import check_function
from autograder.core.result import Report, number_text
from autograder.render.html import LEFT, TOP, feedback_html, svg_figure
from autograder.render.text import markdown, riddle_text
from solutions.reference import ResidualFold


def _relu_net(w1: list[float], b1: list[float], w2: list[float], b2: float = 0.0) -> nn.Module:
    hidden, out = nn.Linear(1, len(b1)), nn.Linear(len(b1), 1)
    with torch.no_grad():
        hidden.weight.copy_(torch.tensor([[w] for w in w1]))
        hidden.bias.copy_(torch.tensor(b1))
        out.weight.copy_(torch.tensor([w2]))
        out.bias.fill_(b2)
    return nn.Sequential(hidden, nn.ReLU(), out)


def lt10_relu() -> nn.Module:
    return _relu_net([-1.0, -1.0], [10.0, 9.0], [1.0, -1.0])


def test_passing_the_network_instead_of_the_function_says_so(capsys) -> None:  # type: ignore[no-untyped-def]
    assert check(lt10_relu(), plot=False) is None
    assert "pass the function, not its result: check(lt10_relu), not check(lt10_relu())" in capsys.readouterr().out
    r = check_function(lambda: lt10_relu(), "lt10_relu")
    assert r.status == "pass"


def test_a_python_if_on_the_input_is_named_as_such() -> None:
    class Branchy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:
                return x
            return -x

    r = check_function(lambda: Branchy(), "lt10_relu")
    assert r.status == "fail" and "uses a Python if, for or while on the input" in r.message
    assert "symbolically traced" not in r.message


def test_a_refused_network_shows_no_neuron_count() -> None:
    class Mod(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x % 2

    r = check_function(lambda: Mod(), "is_even_16")
    assert r.neurons is None and r.to_json()["neurons"] is None
    assert "neurons –" in riddle_text(r) and "neurons –" in markdown(r)
    assert "neurons 0" not in riddle_text(r) + markdown(r)


def test_an_upside_down_parity_network_is_told_which_way_round() -> None:
    class UpsideDown(nn.Module):  # 1 − x mod 2: the reference fold, the other way round
        def __init__(self) -> None:
            super().__init__()
            self.fold = ResidualFold(4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 1 - self.fold(x)

    def is_even_16() -> nn.Module:
        return UpsideDown()

    r = check_function(is_even_16)
    assert r.status == "fail" and "wants x mod 2 (1 for odd x)" in r.message
    assert "Upside down" in r.message
    assert "Upside down" not in check_function(lambda: _relu_net([1.0], [0.0], [1.0]), "is_even_16").message


def test_numbers_are_printed_with_enough_digits_to_differ() -> None:
    assert number_text(0.9999999403953552, 1.0) == "0.9999999403953552"
    assert number_text(1.0, 0.9999999403953552) == "1"
    assert number_text(-50.25851, -50.25852) != number_text(-50.25852, -50.25851)
    assert number_text(0.5, 1.0) == "0.5" and number_text(None, 1.0) == "?"


def test_weights_floats_cannot_hold_get_a_dyadic_suggestion() -> None:
    r = check_function(lambda: _relu_net([-10.0, -10.0], [100.0, 90.0], [0.1, -0.1]), "lt10_relu")
    assert r.status == "fail"
    assert "(0.1, -0.1) are not stored exactly" in r.message and "dyadic" in r.message
    assert not re.search(r"\((\S+) instead of \1\)", r.message)  # no note that contradicts itself
    assert not re.search(r"f\(-?\d+\) = (\S+), expected \1\b", r.message)
    ok = check_function(lambda: _relu_net([-1.0, -1.0], [10.0, 9.0], [1.0, -1.0]), "lt10_relu")
    assert "dyadic" not in ok.message


def test_min_network_wrong_only_on_the_extended_grid_gets_a_map_of_that_grid() -> None:
    def min_network() -> nn.Module:
        net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
        with torch.no_grad():
            net[0].weight.copy_(torch.tensor([[0.0, 1.0], [-1.0, 1.0]]))
            net[0].bias.copy_(torch.tensor([60.0, 0.0]))
            net[2].weight.copy_(torch.tensor([[1.0, -1.0]]))
            net[2].bias.fill_(-60.0)
        return net

    r = check_function(min_network)
    assert r.status == "fail" and r.grid is not None and r.grid["domain"].startswith("integer pairs in [-1024")
    wrong = r.grid["wrong"]
    assert any(wrong) and not all(wrong)  # b + 60 < 0 is wrong, the rest right
    svg = svg_figure(r)
    assert "Where it fails" in svg and "public grid" in svg


def _boxes(svg: str) -> list[tuple[str, float, float]]:
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    return [(t.text or "", float(t.get("x", 0)), float(t.get("y", 0))) for t in root.iter(f"{ns}text")]


def test_html_charts_keep_labels_and_captions_off_the_data() -> None:
    results = [check_function(lt10_relu), check_function(lambda n: _relu_net([1.0], [0.0], [1.0]), "is_even_network")]
    for r in results:
        fig = svg_figure(r)
        assert fig.startswith("<figure>") and "<figcaption>" in fig
        svgs = re.findall(r"<svg.*?</svg>", fig)
        for svg in svgs:
            width, height = (float(v) for v in re.search(r'width="([\d.]+)" height="([\d.]+)"', svg).groups())  # type: ignore[union-attr]
            for text, x, y in _boxes(svg):
                # every label sits in a margin: left of the plot area, or below it
                assert x <= LEFT or y >= height - 34 + 10 or y <= TOP, (text, x, y)
            assert "title" not in svg
    page = feedback_html("s", Report(results), [])
    assert page.count("<figcaption>") >= 2
