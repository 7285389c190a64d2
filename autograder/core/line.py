"""Exact verification of a one-input network on huge integer ranges (docs/theory.md §5).

The network comes in affine normal form (`normal.py`): scalar ReLU units in order.  An *atom*
is a run of integers t in [lo, hi] on which every live value (the input while it is still
read, and the units that later units or the output read) is affine in t, P + t·Q in exact
rationals, and the target label is the integer mu when eps = 0 (any constant) and
(mu + eps·t) mod m when eps != 0 (x mod 2 is mu = 0, eps = 1, m = 2).  Each unit splits an
atom at most once, where its pre-activation changes sign.
After each unit, atoms are put in a canonical form (direction of Q, base point on their line)
and atoms that reach the same states are merged: later units see only the state, so one copy
suffices.  That is what makes folding networks cheap to verify on [0, 2^64): the atoms stay
few however large the range.

Two inputs with different labels that reach the same state are a counterexample.  When the
atoms exceed a cap the analysis stops (at most twice the cap is ever held) and says what in
the network keeps it from folding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import lcm

from .normal import UnitNet

MAX_ATOMS = 20_000
Rat = Fraction | int  # an exact rational; a whole one is kept as an int, which Python adds and multiplies natively
State = dict[int, tuple[Rat, Rat]]  # coordinate -> (P, Q): value P + t·Q


def _q(v: Rat) -> Rat:
    """v as an int when it is whole (int and Fraction mix exactly; ints are several times faster)."""
    return v.numerator if type(v) is Fraction and v.denominator == 1 else v


class LineCapExceeded(Exception):
    """The network does not merge: too many distinct affine pieces to verify exactly."""


@dataclass
class Atom:
    lo: int
    hi: int
    state: State
    mu: int
    eps: int
    origin: list[tuple[int, int, int, int]] = field(default_factory=list)  # (lo, hi, a, b): x = a + b·t
    modulus: int = 2

    def label(self, t: int) -> int:
        return (self.mu + self.eps * t) % self.modulus if self.eps else self.mu

    @property
    def kind(self) -> tuple[int, int, int]:
        return (self.mu, self.eps, self.modulus if self.eps else 0)

    def input_at(self, t: int) -> int | None:
        for lo, hi, a, b in self.origin:
            if lo <= t <= hi:
                return a + b * t
        return None


@dataclass
class LineFailure:
    """A counterexample found by the line analysis (the input may be unknown after merging)."""

    input: int | None
    expected: int
    got: Rat | None
    reason: str


def _pieces(atom: Atom, p: Rat, q: Rat) -> list[tuple[int, int, bool]]:
    """The atom's t-range split where p + q·t changes sign: (lo, hi, unit is on)."""
    cut = None
    if q != 0:
        s = (-p) // q + 1  # floor division: exact for int and Fraction alike
        if atom.lo < s <= atom.hi:
            cut = s
    ranges = [(atom.lo, atom.hi)] if cut is None else [(atom.lo, cut - 1), (cut, atom.hi)]
    return [(lo, hi, p + q * lo >= 0 and p + q * hi >= 0) for lo, hi in ranges]


def _canonical(atom: Atom, live: list[int]) -> tuple[object, Atom]:
    Q = [atom.state[k][1] for k in live]
    j = next((i for i, v in enumerate(Q) if v != 0), None)
    if j is None:
        return ("const", tuple(atom.state[k][0] for k in live)), atom
    if Q[j] < 0:  # t -> -t
        atom.state = {k: (p, -q) for k, (p, q) in atom.state.items()}
        atom.lo, atom.hi = -atom.hi, -atom.lo
        atom.origin = [(-hi, -lo, a, -b) for lo, hi, a, b in atom.origin]
    pj, qj = atom.state[live[j]]
    c = pj // qj  # t -> t + c, so that the base point has 0 <= P_j < Q_j (exact floor)
    if c:
        atom.state = {k: (p - c * q, q) for k, (p, q) in atom.state.items()}
        atom.lo, atom.hi = atom.lo + c, atom.hi + c
        if atom.eps:
            atom.mu = (atom.mu - atom.eps * c) % atom.modulus
        atom.origin = [(lo + c, hi + c, a - b * c, b) for lo, hi, a, b in atom.origin]
    return (tuple(atom.state[k] for k in live),), atom


def _conflict(a: Atom, b: Atom) -> LineFailure | None:
    """Two atoms that share states: a failure if some shared state has two labels."""
    lo, hi = max(a.lo, b.lo), min(a.hi, b.hi)
    period = lcm(a.modulus if a.eps else 1, b.modulus if b.eps else 1)  # labels repeat after this
    for t in range(lo, min(hi, lo + max(period, 2) - 1) + 1):
        if a.label(t) != b.label(t):
            x1, x2 = a.input_at(t), b.input_at(t)
            known = x1 if x1 is not None else x2
            want = a.label(t) if x1 is not None else b.label(t)
            return LineFailure(known, want, None,
                               f"inputs {x1 if x1 is not None else '?'} and {x2 if x2 is not None else '?'} "
                               "reach the same hidden state but need different outputs")
    return None


def _merge(atoms: list[Atom], live: list[int]) -> list[Atom] | LineFailure:
    groups: dict[object, list[Atom]] = {}
    for atom in atoms:
        key, atom = _canonical(atom, live)
        if key[0] == "const":
            if atom.eps and atom.hi > atom.lo:
                x1, x2 = atom.input_at(atom.lo), atom.input_at(atom.lo + 1)
                return LineFailure(x1, atom.label(atom.lo), None,
                                   f"inputs {x1} and {x2} reach the same hidden state but need different outputs")
            x0 = atom.input_at(atom.lo)
            atom.mu, atom.eps = atom.label(atom.lo), 0
            atom.origin = [(0, 0, x0, 0)] if x0 is not None else []
            atom.lo = atom.hi = 0
        groups.setdefault(key, []).append(atom)
    merged: list[Atom] = []
    for group in groups.values():
        group.sort(key=lambda a: (a.lo, a.hi))
        current = group[0]
        for nxt in group[1:]:
            if nxt.lo <= current.hi:
                bad = _conflict(current, nxt)
                if bad:
                    return bad
            if nxt.kind == current.kind and nxt.lo <= current.hi + 1:
                current.hi = max(current.hi, nxt.hi)
                current.origin = (current.origin + nxt.origin)[:8]
            else:
                merged.append(current)
                current = nxt
        merged.append(current)
    return merged


Row = dict[int, Rat]  # a linear functional on the sources: column -> coefficient
RANK_CAP = 200


def _subtract(v: Row, c: Rat, b: Row) -> None:
    """v -= c·b in place, keeping only nonzero entries."""
    for col, bc in b.items():
        nv = _q(v.get(col, 0) - c * bc)
        if nv:
            v[col] = nv
        else:
            v.pop(col, None)


def _reduce(rows: list[Row]) -> list[tuple[int, Row]]:
    """A fully reduced basis of the rows' span: (pivot, row) with row[pivot] = 1 and every
    other basis row 0 at that pivot.  Then any v in the span is sum(v[pivot_k] * row_k)."""
    basis: list[tuple[int, Row]] = []
    for r in rows:
        v = dict(r)
        for piv, b in basis:
            c = v.get(piv)
            if c:
                _subtract(v, c, b)
        if not v:
            continue
        piv = max(v)
        if v[piv] != 1:
            inv = Fraction(1) / v[piv]
            v = {col: _q(c * inv) for col, c in v.items()}
        for k, (p2, b) in enumerate(basis):
            c = b.get(piv)
            if c:
                nb = dict(b)
                _subtract(nb, c, v)
                basis[k] = (p2, nb)
        basis.append((piv, v))
    return basis


@dataclass
class Plan:
    """How the state that later units read evolves, precomputed on the network (not per atom).

    Before unit j the state is z, the values of a basis of the functionals that unit j, the
    later units and the output apply to the sources seen so far (input and units < j).  Two
    inputs with equal z are indistinguishable from then on, whatever their raw input was; that
    is what lets `fold(x) + x - x` and a residual stream y = x - 2·Σu merge.  Step j: unit j's
    pre-activation is pre_c·z + pre_const; afterwards z' = T·z + w·u_j.  At the end the output
    is out_c·z + out_const."""

    pre_c: list[list[Rat]]
    pre_const: list[Rat]
    T: list[list[list[Rat]]]
    w: list[list[Rat]]
    out_c: list[Rat]
    out_const: Rat
    start: list[Rat]  # z before the first unit, as multiples of the input x


def plan(net: UnitNet) -> Plan:
    """Work backward from the output: the functionals read after each unit, reduced to a basis.
    When a basis would grow past RANK_CAP, keep every live source instead (always valid)."""
    U = len(net.units)
    pre_rows: list[Row] = [{c: _q(v) for c, v in u.pre.coef.items()} for u in net.units]
    out_row: Row = {c: _q(v) for c, v in net.output.coef.items()}
    bases: list[list[tuple[int, Row]]] = [[] for _ in range(U + 1)]  # bases[j]: the state before unit j
    current = _reduce([out_row]) if out_row else []
    bases[U] = current
    for j in range(U - 1, -1, -1):
        col = 1 + j
        rows = [{c: v for c, v in b.items() if c != col} for _, b in current] + [pre_rows[j]]
        rows = [r for r in rows if r]
        current = _reduce(rows) if len(rows) <= RANK_CAP else [
            (c, {c: 1}) for c in sorted({c for r in rows for c in r})]
        bases[j] = current
    pre_c = [[pre_rows[j].get(piv, 0) for piv, _ in bases[j]] for j in range(U)]
    T, w = [], []
    for j in range(U):
        before, after = bases[j], bases[j + 1]
        T.append([[b.get(piv, 0) for piv, _ in before] for _, b in after])
        w.append([b.get(1 + j, 0) for _, b in after])
    return Plan(pre_c, [_q(u.pre.const) for u in net.units], T, w,
                [out_row.get(piv, 0) for piv, _ in bases[U]], _q(net.output.const),
                [b.get(0, 0) for _, b in bases[0]])


def _dot(c: list[Rat], z: list[tuple[Rat, Rat]], const: Rat) -> tuple[Rat, Rat]:
    p, q = const, 0
    for k, ck in enumerate(c):
        if ck:
            zp, zq = z[k]
            p += ck * zp
            q += ck * zq
    return _q(p), _q(q)


def _cap_reason(net: UnitNet, j: int, count: int) -> str:
    where = net.units[j].where
    at = f"unit {j + 1} of {len(net.units)}" + (f" ({where})" if where else "")
    readers = [k for k, u in enumerate(net.units) if k > j and 0 in u.pre.coef]
    by = ("the output" if 0 in net.output.coef else
          f"unit {readers[-1] + 1}" + (f" ({net.units[readers[-1]].where})" if net.units[readers[-1]].where else "")
          if readers else "")
    why = (f"; the raw input is still read by {by}, and what later units read still tells "
           "inputs apart, so nothing merges (a residual stream that folds its input must stop "
           "carrying x once it is folded)" if by else
           "; the network does not fold its input, so inputs never reach the same state")
    return f"more than {count:,} distinct hidden states after {at}{why}"


def verify_line(net: UnitNet, segments: list[tuple[int, ...]], max_atoms: int = MAX_ATOMS,
                cuts: list[int] | None = None) -> tuple[list[LineFailure], int]:
    """Check every integer of the given segments: (lo, hi, mu, eps) or (lo, hi, mu, eps, m),
    with target mu when eps = 0 and (mu + eps·x) mod m (m = 2 when not given) otherwise.
    Returns up to a few failures (empty: exact) and the peak atom count.
    `cuts`, when given, collects inputs next to which some unit changes sign (up to 4,096)."""
    if net.arity != 1:
        raise ValueError("line analysis takes one-input networks")
    if any(u.kind != "relu" for u in net.units):
        raise ValueError("line analysis does not handle sigmoid units")
    pl = plan(net)
    zero = 0

    def start(lo: int, hi: int, mu: int, eps: int, modulus: int = 2) -> Atom:
        if eps and modulus < 2:
            raise ValueError(f"a periodic label needs a modulus of at least 2, not {modulus}")
        if eps and eps % modulus == 0:  # a constant label written as a periodic one
            mu, eps = mu % modulus, 0
        state = {k: (zero, c) for k, c in enumerate(pl.start)}
        return Atom(lo, hi, state, mu % modulus if eps else mu, eps, [(lo, hi, 0, 1)], modulus)

    atoms = [start(*seg) for seg in segments if seg[0] <= seg[1]]
    peak = len(atoms)
    for j in range(len(net.units)):
        nxt: list[Atom] = []
        T, w = pl.T[j], pl.w[j]
        for atom in atoms:
            z = [atom.state[k] for k in range(len(atom.state))]
            p, q = _dot(pl.pre_c[j], z, pl.pre_const[j])
            for lo, hi, on in _pieces(atom, p, q):
                up, uq = (p, q) if on else (zero, zero)
                state = {}
                for i, row in enumerate(T):
                    zp, zq = _dot(row, z, zero)
                    if w[i]:
                        zp, zq = zp + w[i] * up, zq + w[i] * uq
                    state[i] = (zp, zq)
                origin = atom.origin if (lo, hi) == (atom.lo, atom.hi) else [
                    (max(lo, olo), min(hi, ohi), a, b) for olo, ohi, a, b in atom.origin if olo <= hi and ohi >= lo]
                nxt.append(Atom(lo, hi, state, atom.mu, atom.eps, origin, atom.modulus))
                if cuts is not None and lo != atom.lo and len(cuts) < 4096:
                    x = atom.input_at(lo)
                    if x is not None:
                        cuts.extend((x - 1, x))
        peak = max(peak, len(nxt))
        if len(nxt) > max_atoms:
            raise LineCapExceeded(_cap_reason(net, j, max_atoms))
        result = _merge(nxt, list(range(len(T))))
        if isinstance(result, LineFailure):
            return [result], peak
        atoms = result
    failures: list[LineFailure] = []
    for atom in atoms:
        p, q = _dot(pl.out_c, [atom.state[k] for k in range(len(atom.state))], pl.out_const)
        ts = [atom.lo, atom.hi] if atom.eps == 0 else list(range(atom.lo, min(atom.hi, atom.lo + atom.modulus) + 1))
        for t in ts:
            got = p + q * t
            if got != atom.label(t):
                failures.append(LineFailure(atom.input_at(t), atom.label(t), got, "wrong output"))
                break
        if len(failures) >= 5:
            break
    return failures, peak
