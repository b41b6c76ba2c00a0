"""Checks for 09_per_layer_choices_and_repair.ipynb."""
import itertools

from . import RIGHT, WRONG, run_answer, verdict

# Small hand-made tables: per layer, (bits, cost, error) choices.
TABLES = [
    # two layers, convex curves: greedy and exact agree
    [[(8, 8, 0.0), (4, 4, 0.1), (2, 2, 1.0)], [(8, 16, 0.0), (4, 8, 0.05), (2, 4, 0.6)]],
    # a non-convex layer (flat down to 3 bits, then a jump; 3 bits costs what 4 does): greedy fails
    [[(8, 8, 0.0), (4, 4, 0.01), (3, 4, 0.02), (2, 2, 0.9)], [(8, 8, 0.0), (4, 4, 0.3), (2, 2, 0.4)],
     [(8, 4, 0.0), (2, 1, 0.05)]],
    # equal costs reached two ways: keep the smaller error
    [[(4, 2, 0.5), (2, 1, 0.7)], [(4, 2, 0.2), (2, 1, 0.1)]],
    # one layer only
    [[(8, 3, 0.0), (5, 2, 0.4), (2, 1, 0.3)]],
]


def _brute_force(layers):
    """Every allocation, then the least error at each cost, then the strict error records by cost."""
    best = {}
    for combo in itertools.product(*layers):
        cost = sum(c for _, c, _ in combo)
        err = sum(e for _, _, e in combo)
        if cost not in best or err < best[cost][0] - 1e-12:
            best[cost] = (err, tuple(b for b, _, _ in combo))
    front, record = [], float("inf")
    for cost in sorted(best):
        err, bits = best[cost]
        if err < record - 1e-12:
            front.append((cost, err, bits))
            record = err
    return front


def check_pareto_front(fn):
    for layers in TABLES:
        got, failed = run_answer(fn, [list(choices) for choices in layers])
        if failed:
            return failed
        want = _brute_force(layers)
        try:
            got = [(float(c), float(e), tuple(int(b) for b in bits)) for c, e, bits in got]
        except (TypeError, ValueError):
            return verdict(WRONG, "return a list of (cost, error, bits) tuples, bits a tuple with one width per layer")
        if len(got) != len(want):
            return verdict(WRONG, f"on a {len(layers)}-layer table your front has {len(got)} points, the exact one "
                                  f"{len(want)}: keep an allocation only when no cheaper-or-equal one has an error as small")
        for (gc, ge, gb), (wc, we, wb) in zip(got, want):
            if abs(gc - wc) > 1e-9 or abs(ge - we) > 1e-9:
                return verdict(WRONG, f"on a {len(layers)}-layer table a point is (cost {gc:g}, error {ge:g}) where the "
                                      f"exact front has (cost {wc:g}, error {we:g}): sorted by cost? least error per cost?")
            costs = [dict((b, c) for b, c, _ in ch) for ch in layers]
            if len(gb) != len(layers) or any(b not in c for b, c in zip(gb, costs)) \
                    or abs(sum(c[b] for b, c in zip(gb, costs)) - gc) > 1e-9:
                return verdict(WRONG, f"the bits {gb} do not add up to the cost {gc:g} you report")
    return verdict(RIGHT, f"the exact front on all {len(TABLES)} tables")
