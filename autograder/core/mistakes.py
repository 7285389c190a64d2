"""Common PyTorch mistakes when setting weights by hand, recognised from the error they raise.

`check(...)` adds the explanation below a report whose riddle function raised one of these,
so the student reads the idiom the course expects instead of only PyTorch's message.
"""

from __future__ import annotations

import re
import textwrap

IDIOM = ("Set weights inside `with torch.no_grad():` with in-place copies, e.g.\n"
         "    layer = nn.Linear(2, 1)\n"
         "    with torch.no_grad():\n"
         "        layer.weight.copy_(torch.tensor([[0.5, -2.0]]))   # shape (outputs, inputs)\n"
         "        layer.bias.copy_(torch.tensor([3.0]))             # shape (outputs,)")

# (pattern in the error message, what went wrong and what to write instead)
MISTAKES: tuple[tuple[str, str], ...] = (
    (r"leaf Variable that requires grad is being used in an in-place operation",
     ("A layer's weight or bias was changed in place (`copy_`, `fill_`, `+=`, `weight[0] = ...`) "
      "outside `torch.no_grad()`. PyTorch tracks gradients of parameters and forbids that.")),
    (r"cannot assign '[\w.]+' as parameter '(\w+)'",
     ("A plain tensor was assigned to a layer's parameter (`layer.weight = torch.tensor(...)`). "
      "A parameter can only be replaced by an `nn.Parameter`; copy the values into it instead.")),
    (r"Only Tensors of floating point and complex dtype can require gradients",
     ("An integer tensor was made into a parameter (`nn.Parameter(torch.tensor([[1]]))`). "
      "Write the numbers as floats (1.0), or copy them into the layer's existing weight.")),
    ("|".join((r"mat1 and mat2 shapes cannot be multiplied", r"size mismatch", r"must match the size of tensor",
               r"shape .* doesn't match the broadcast shape", r"expand\(")),
     ("The weight has the wrong shape. `nn.Linear(i, o)` has weight of shape (o, i) and bias of "
      "shape (o,); its input is (batch, i).")),
    ("|".join((r"expected (m1 and m2|mat1 and mat2) to have the same dtype", r"expected scalar type",
               r"mat1 and mat2 must have the same dtype", r"found dtype \w+ but expected")),
     ("Float32 and float64 are mixed: call `.double()` on the whole module (the grader feeds it "
      "matching inputs), not on some of its layers or tensors.")),
    (r"Can't call numpy\(\) on Tensor that requires grad",
     ("A parameter was turned into numpy inside the network. Networks may use torch operations "
      "only; read weights with `layer.weight.detach()`.")),
)


def explain(message: str) -> str | None:
    """The explanation for the first known mistake in `message`, or None."""
    for pattern, why in MISTAKES:
        if re.search(pattern, message):
            return textwrap.fill(f"What went wrong: {why}", width=88) + "\n" + IDIOM
    return None
