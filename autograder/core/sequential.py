"""Is a captured network a plain stack of layers?  (The `sequential` architecture.)

A riddle with `architecture="sequential"` takes what `nn.Sequential(nn.Linear, nn.ReLU, ...)`
computes: h₀ = x, h_ℓ = ReLU(affine(h_{ℓ−1})), output = affine(h_L).  The rule is decided on
the captured description, never on the Python class, so a custom module written without skips
passes and an `nn.Sequential` holding a module that adds a skip does not.

Every value of the description is given a *depth*: the input has depth 0, a unit (an
activation op) has depth d + 1 when its pre-activation reads only values of depth d, and
affine glue (linear, shift, scale, slicing, adding two values of one depth) keeps the depth of
what it reads.  Layer ℓ is every unit of depth ℓ, however many ops it was written with.  A
value that combines two depths is a skip; it is refused when a unit or the output reads it,
naming the place in the student's code where the depths were combined.  A final ReLU is a
layer of width one, counted as a neuron as in every riddle (docs/theory.md §1).
"""

from __future__ import annotations

from .network import ACTIVATIONS, Network
from .refusals import SkipConnection

PLAIN = ("this riddle takes a plain nn.Sequential of nn.Linear and nn.ReLU layers, where each "
         "layer reads only the previous layer's output")


def _depth_name(depth: int) -> str:
    return "the input x" if depth == 0 else f"the output of layer {depth}"


def depths(net: Network) -> list[frozenset[int]]:
    """For each op, the depths of the layers it reads through affine glue (one depth for a
    value of a plain network; an activation op reports its own depth)."""
    out: list[frozenset[int]] = []
    for op in net.ops:
        if op.op == "input":
            out.append(frozenset({0}))
            continue
        read = frozenset().union(*(out[a] for a in op.args))
        out.append(frozenset({max(read) + 1}) if op.op in ACTIVATIONS else read)
    return out


def _where_combined(net: Network, seen: list[frozenset[int]], start: int) -> int:
    """The first op (in evaluation order) among those `start` reads through glue whose
    arguments come from different depths: where the skip is written."""
    stack, visited, first = [start], set(), -1
    while stack:
        k = stack.pop()
        if k in visited:
            continue
        visited.add(k)
        op = net.ops[k]
        if len({seen[a] for a in op.args}) > 1 and (first < 0 or k < first):
            first = k
        stack.extend(a for a in op.args if net.ops[a].op not in ACTIVATIONS and len(seen[a]) > 1)
    return first


def _combine_text(net: Network, seen: list[frozenset[int]], k: int) -> str:
    """What op k does, in words: 'the output of layer 1 is subtracted from the input x'."""
    op = net.ops[k]
    names = [_depth_name(min(seen[a])) if len(seen[a]) == 1 else "a mix of layers" for a in op.args]
    if op.op == "add":
        return f"{names[1]} is added to {names[0]}"
    if op.op == "sub":
        return f"{names[1]} is subtracted from {names[0]}"
    distinct = list(dict.fromkeys(names))
    return f"{', '.join(distinct[:-1])} and {distinct[-1]} are put side by side"


def find_skip(net: Network) -> SkipConnection | None:
    """The first skip that a unit or the output reads, as a refusal with its place; None
    when the network is a plain stack of layers."""
    seen = depths(net)
    readers = [(k, net.ops[k].args[0]) for k, op in enumerate(net.ops) if op.op in ACTIVATIONS]
    readers.append((-1, net.output))
    for reader, read in readers:
        if len(seen[read]) < 2:
            continue
        k = _where_combined(net, seen, read)
        target = ("the network's output" if reader < 0
                  else f"layer {max(seen[reader])}")
        where = net.ops[k].where if k >= 0 else ""
        what = _combine_text(net, seen, k) if k >= 0 else "values of different layers are combined"
        return SkipConnection(f"{what} and {target} reads the result (a skip connection); {PLAIN}", where)
    return None
